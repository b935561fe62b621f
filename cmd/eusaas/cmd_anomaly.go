package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/anomalyeval"
)

func (m *Main) anomalyScanCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "scan",
		Short: "scan every ACTIVE tenant's costs now (server configuration)",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return anomalyScan(cmd.Context(), m) },
	}
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
		Short: "evaluate the detectors on NAB data (with --nab) and on seeded synthetic daily costs; prints a Markdown report",
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

func anomalyScan(ctx context.Context, m *Main) error {
	cfg, err := LoadConfig(m.Getenv)
	if err != nil {
		return err
	}
	app, err := NewApp(ctx, cfg, m.logger(cfg.LogLevel))
	if err != nil {
		return err
	}
	defer app.Close()
	return RunAnomalyScan(ctx, app.platform.Scanner, m.Stdout)
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
	md := rep.Markdown()
	fmt.Fprint(m.Stdout, md)
	if f.out != "" {
		if err := os.WriteFile(f.out, []byte(md), 0o644); err != nil {
			return fmt.Errorf("anomaly eval: %w", err)
		}
	}
	return nil
}
