package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/anomalyeval"
)

const anomalyUsage = `usage:
  eusaas anomaly scan [--from YYYY-MM-DD --to YYYY-MM-DD]
                                      scan every ACTIVE tenant's costs now (server configuration);
                                      with --from/--to, scan each day of the range in order, as
                                      the daily job would have (backfill; at most 366 days, up to
                                      yesterday)
  eusaas anomaly eval [--nab DIR] [--seed N] [--tenants N] [--days N] [--min-impact EUR] [--out FILE]
                                      evaluate the detectors on NAB data (when --nab is given) and
                                      on seeded synthetic daily costs, and back-test the month-end
                                      projection on the same costs; prints a Markdown report
`

// cmdAnomaly runs "anomaly scan" and "anomaly eval".
func cmdAnomaly(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, anomalyUsage)
		return errors.New("anomaly: missing subcommand")
	}
	switch args[0] {
	case "scan":
		return anomalyScanCommand(ctx, m, args[1:])
	case "eval":
		return anomalyEvalCommand(ctx, m, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, anomalyUsage)
		return nil
	}
	fmt.Fprint(m.Stderr, anomalyUsage)
	return fmt.Errorf("anomaly: unknown subcommand %q", args[0])
}

func anomalyScanCommand(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("anomaly scan", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, anomalyUsage) }
	fromS := fs.String("from", "", "first day to scan (YYYY-MM-DD, UTC); needs --to")
	toS := fs.String("to", "", "last day to scan (YYYY-MM-DD, UTC); needs --from")
	if err := fs.Parse(args); err != nil {
		return err
	}
	from, to, backfill, err := parseScanRange(*fromS, *toS, time.Now())
	if err != nil {
		return err
	}
	cfg, err := LoadConfig(m.Getenv)
	if err != nil {
		return err
	}
	app, err := NewApp(ctx, cfg, m.logger(cfg.LogLevel))
	if err != nil {
		return err
	}
	defer app.Close()
	if app.anomaly == nil {
		return errors.New("anomaly scan: the anomaly module is not wired in this build (it needs billing's daily costs)")
	}
	if backfill {
		return RunAnomalyBackfill(ctx, app.anomaly.Scanner, from, to, m.Stdout)
	}
	return RunAnomalyScan(ctx, app.anomaly.Scanner, m.Stdout)
}

// maxBackfillDays bounds one backfill run (a year and a day).
const maxBackfillDays = 366

// parseScanRange validates --from/--to: both or neither, dates, from <= to, to before
// today (UTC: only complete days are scanned), at most maxBackfillDays days.
func parseScanRange(fromS, toS string, now time.Time) (from, to time.Time, ok bool, err error) {
	if fromS == "" && toS == "" {
		return from, to, false, nil
	}
	if fromS == "" || toS == "" {
		return from, to, false, errors.New("anomaly scan: --from and --to go together")
	}
	if from, err = time.Parse(time.DateOnly, fromS); err != nil {
		return from, to, false, fmt.Errorf("anomaly scan: --from %q is not YYYY-MM-DD", fromS)
	}
	if to, err = time.Parse(time.DateOnly, toS); err != nil {
		return from, to, false, fmt.Errorf("anomaly scan: --to %q is not YYYY-MM-DD", toS)
	}
	switch {
	case to.Before(from):
		return from, to, false, errors.New("anomaly scan: --to is before --from")
	case !to.Before(anomaly.DayOf(now)):
		return from, to, false, errors.New("anomaly scan: --to must be before today (UTC): only complete days are scanned")
	case int(to.Sub(from).Hours()/24)+1 > maxBackfillDays:
		return from, to, false, fmt.Errorf("anomaly scan: at most %d days per run", maxBackfillDays)
	}
	return from, to, true, nil
}

// anomalyBackfillDay is one day of `eusaas anomaly scan --from --to`.
type anomalyBackfillDay struct {
	Day string `json:"day"`
	anomalyScanOutput
}

// RunAnomalyBackfill scans each day from..to in order, as the daily job would have run on
// the following day at 00:00 UTC, and prints the per-day summaries as a JSON array. It stops
// at the first day whose scan fails as a whole; tenants failing on a day are reported in
// that day's summary and make the command fail after the last day.
func RunAnomalyBackfill(ctx context.Context, sc *anomaly.Scanner, from, to time.Time, out io.Writer) error {
	var days []anomalyBackfillDay
	failedDays := 0
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		rep, err := sc.ScanAllAt(ctx, d.AddDate(0, 0, 1))
		if err != nil {
			return fmt.Errorf("anomaly scan %s: %w", d.Format(time.DateOnly), err)
		}
		o := scanOutput(rep)
		if len(o.Failed) > 0 {
			failedDays++
		}
		days = append(days, anomalyBackfillDay{Day: d.Format(time.DateOnly), anomalyScanOutput: o})
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(days); err != nil {
		return err
	}
	if failedDays > 0 {
		return fmt.Errorf("anomaly scan: tenants failed on %d of %d days", failedDays, len(days))
	}
	return nil
}

func scanOutput(rep anomaly.ScanReport) anomalyScanOutput {
	o := anomalyScanOutput{Tenants: rep.Tenants, Found: rep.Found, Created: rep.Created, Suppressed: rep.Suppressed,
		Notified: rep.Notified, NotifyErrors: rep.NotifyErrors, BudgetAlerts: rep.BudgetAlerts, Failed: map[string]string{}}
	for id, e := range rep.Failed {
		o.Failed[id.String()] = e.Error()
	}
	return o
}

// anomalyScanOutput is the JSON summary `eusaas anomaly scan` prints.
type anomalyScanOutput struct {
	Tenants      int               `json:"tenants"`
	Found        int               `json:"found"`
	Created      int               `json:"created"`
	Suppressed   int               `json:"suppressed"`
	Notified     int               `json:"notified"`
	NotifyErrors int               `json:"notify_errors"`
	BudgetAlerts int               `json:"budget_alerts"`
	Failed       map[string]string `json:"failed"`
}

// RunAnomalyScan runs one scan over every ACTIVE tenant and prints its summary as JSON. It
// fails when any tenant's scan failed (after scanning the others). The worker calls the
// same Scanner.ScanAll daily.
func RunAnomalyScan(ctx context.Context, sc *anomaly.Scanner, out io.Writer) error {
	rep, err := sc.ScanAll(ctx)
	if err != nil {
		return fmt.Errorf("anomaly scan: %w", err)
	}
	o := scanOutput(rep)
	ids := make([]string, 0, len(rep.Failed))
	for id := range rep.Failed {
		ids = append(ids, id.String())
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(o); err != nil {
		return err
	}
	if len(ids) > 0 {
		sort.Strings(ids)
		return fmt.Errorf("anomaly scan: %d of %d tenants failed (first: %s)", len(ids), rep.Tenants, ids[0])
	}
	return nil
}

func anomalyEvalCommand(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("anomaly eval", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, anomalyUsage) }
	nab := fs.String("nab", "", "NAB directory (data/, labels/, config/); empty: synthetic only")
	seed := fs.Uint64("seed", 1, "synthetic generator seed")
	tenants := fs.Int("tenants", 200, "synthetic tenants")
	days := fs.Int("days", 182, "synthetic days per tenant")
	minImpact := fs.String("min-impact", "5", "minimum impact in EUR (dual gate) on synthetic data")
	outPath := fs.String("out", "", "also write the report to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenants < 1 || *tenants > 100000 || *days < 30 || *days > 3650 {
		return errors.New("anomaly eval: --tenants must be 1..100000 and --days 30..3650")
	}
	mi, err := decimal.NewFromString(*minImpact)
	if err != nil || mi.IsNegative() {
		return errors.New("anomaly eval: --min-impact must be a non-negative decimal")
	}
	o := anomalyeval.Options{Synth: anomalyeval.SynthConfig{Seed: *seed, Tenants: *tenants, Days: *days}, MinImpact: mi}
	if *nab != "" {
		if st, err := os.Stat(*nab); err != nil || !st.IsDir() {
			return fmt.Errorf("anomaly eval: --nab %s is not a directory", *nab)
		}
		o.NAB, o.NABLabel = os.DirFS(*nab), *nab
	}
	rep, err := anomalyeval.Evaluate(ctx, o)
	if err != nil {
		return fmt.Errorf("anomaly eval: %w", err)
	}
	bt, err := backtestProjection(ctx, anomalyeval.Generate(rep.Options.Synth))
	if err != nil {
		return fmt.Errorf("anomaly eval: projection back-test: %w", err)
	}
	md := rep.Markdown() + "\n" + bt.Markdown(rep.Options.Synth)
	fmt.Fprint(m.Stdout, md)
	if *outPath != "" {
		if err := os.WriteFile(*outPath, []byte(md), 0o644); err != nil {
			return fmt.Errorf("anomaly eval: %w", err)
		}
	}
	return nil
}
