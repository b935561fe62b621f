package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/anomalyeval"
)

func (m *Main) anomalyScanCommand() *cobra.Command {
	var from, to string
	c := &cobra.Command{
		Use:   "scan [--from YYYY-MM-DD --to YYYY-MM-DD]",
		Short: "scan every ACTIVE tenant's costs now, or each day of a range in order (backfill)",
		Long: `Scans every ACTIVE tenant's costs now (server configuration). With --from/--to, scans each
day of the range in order, as the daily job would have (backfill; at most 366 days, up to
yesterday); notifications go out as the daily job would send them.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return anomalyScan(cmd.Context(), m, from, to) },
	}
	c.Flags().StringVar(&from, "from", "", "first day to scan (YYYY-MM-DD, UTC); needs --to")
	c.Flags().StringVar(&to, "to", "", "last day to scan (YYYY-MM-DD, UTC); needs --from")
	return c
}

// anomalyEvalFlags are `anomaly eval`'s options.
type anomalyEvalFlags struct {
	nab, minImpact, out string
	seed                uint64
	tenants, days       int
}

func (m *Main) anomalyEvalCommand() *cobra.Command {
	var f anomalyEvalFlags
	c := &cobra.Command{
		Use:   "eval",
		Short: "evaluate the detectors on NAB data (with --nab) and on seeded synthetic daily costs, back-test the month-end projection; prints a Markdown report",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return anomalyEval(cmd.Context(), m, f) },
	}
	c.Flags().StringVar(&f.nab, "nab", "", "NAB directory (data/, labels/, config/); empty: synthetic only")
	c.Flags().Uint64Var(&f.seed, "seed", 1, "synthetic generator seed")
	c.Flags().IntVar(&f.tenants, "tenants", 200, "synthetic tenants (1..100000)")
	c.Flags().IntVar(&f.days, "days", 182, "synthetic days per tenant (30..3650)")
	c.Flags().StringVar(&f.minImpact, "min-impact", "5", "minimum impact in EUR (dual gate) on synthetic data")
	c.Flags().StringVar(&f.out, "out", "", "also write the report to this file")
	return c
}

func anomalyScan(ctx context.Context, m *Main, fromS, toS string) error {
	from, to, backfill, err := parseScanRange(fromS, toS, time.Now())
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
	if backfill {
		return RunAnomalyBackfill(ctx, app.platform.Scanner, from, to, m.Stdout)
	}
	return RunAnomalyScan(ctx, app.platform.Scanner, m.Stdout)
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
		return from, to, false, usageErrorf("anomaly scan: --from and --to go together")
	}
	if from, err = time.Parse(time.DateOnly, fromS); err != nil {
		return from, to, false, usageErrorf("anomaly scan: --from %q is not YYYY-MM-DD", fromS)
	}
	if to, err = time.Parse(time.DateOnly, toS); err != nil {
		return from, to, false, usageErrorf("anomaly scan: --to %q is not YYYY-MM-DD", toS)
	}
	switch {
	case to.Before(from):
		return from, to, false, usageErrorf("anomaly scan: --to is before --from")
	case !to.Before(anomaly.DayOf(now)):
		return from, to, false, usageErrorf("anomaly scan: --to must be before today (UTC): only complete days are scanned")
	case int(to.Sub(from).Hours()/24)+1 > maxBackfillDays:
		return from, to, false, usageErrorf("anomaly scan: at most %d days per run", maxBackfillDays)
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

func anomalyEval(ctx context.Context, m *Main, f anomalyEvalFlags) error {
	if f.tenants < 1 || f.tenants > 100000 || f.days < 30 || f.days > 3650 {
		return usageErrorf("anomaly eval: --tenants must be 1..100000 and --days 30..3650")
	}
	mi, err := decimal.NewFromString(f.minImpact)
	if err != nil || mi.IsNegative() {
		return usageErrorf("anomaly eval: --min-impact must be a non-negative decimal")
	}
	o := anomalyeval.Options{Synth: anomalyeval.SynthConfig{Seed: f.seed, Tenants: f.tenants, Days: f.days}, MinImpact: mi}
	if f.nab != "" {
		if st, err := os.Stat(f.nab); err != nil || !st.IsDir() {
			return usageErrorf("anomaly eval: --nab %s is not a directory", f.nab)
		}
		o.NAB, o.NABLabel = os.DirFS(f.nab), f.nab
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
	if f.out != "" {
		if err := os.WriteFile(f.out, []byte(md), 0o644); err != nil {
			return fmt.Errorf("anomaly eval: %w", err)
		}
	}
	return nil
}
