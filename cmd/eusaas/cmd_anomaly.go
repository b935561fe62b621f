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

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/anomalyeval"
)

const anomalyUsage = `usage:
  eusaas anomaly scan                 scan every ACTIVE tenant's costs now (server configuration)
  eusaas anomaly eval [--nab DIR] [--seed N] [--tenants N] [--days N] [--min-impact EUR] [--out FILE]
                                      evaluate the detectors on NAB data (when --nab is given) and
                                      on seeded synthetic daily costs; prints a Markdown report
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
	if err := fs.Parse(args); err != nil {
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
	return RunAnomalyScan(ctx, app.anomaly.Scanner, m.Stdout)
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
	o := anomalyScanOutput{Tenants: rep.Tenants, Found: rep.Found, Created: rep.Created, Suppressed: rep.Suppressed,
		Notified: rep.Notified, NotifyErrors: rep.NotifyErrors, BudgetAlerts: rep.BudgetAlerts, Failed: map[string]string{}}
	ids := make([]string, 0, len(rep.Failed))
	for id, e := range rep.Failed {
		o.Failed[id.String()] = e.Error()
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
