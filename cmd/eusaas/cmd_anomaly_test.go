package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/memanomaly"
)

// A tiny NAB tree: CI never reads the real one.
func anomalyFakeNAB(t *testing.T) string {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "data", "cat"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "labels"), 0o755))
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	t0 := time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 700; i++ {
		v := 10 + float64(i*7%11)/10
		if i == 650 {
			v = 100
		}
		fmt.Fprintf(&b, "%s,%g\n", t0.Add(time.Duration(i)*time.Hour).Format("2006-01-02 15:04:05"), v)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data", "cat", "s.csv"), []byte(b.String()), 0o644))
	w0 := t0.Add(640 * time.Hour).Format("2006-01-02 15:04:05.000000")
	w1 := t0.Add(660 * time.Hour).Format("2006-01-02 15:04:05.000000")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels", "combined_windows.json"),
		[]byte(`{"cat/s.csv": [["`+w0+`", "`+w1+`"]]}`), 0o644))
	return dir
}

func TestAnomalyEvalCommand(t *testing.T) {
	nab := anomalyFakeNAB(t)
	out := filepath.Join(t.TempDir(), "eval.md")
	var stdout, stderr bytes.Buffer
	m := &Main{Stdout: &stdout, Stderr: &stderr, Getenv: env(nil)}
	code := m.Run(context.Background(), []string{"anomaly", "eval", "--nab", nab, "--tenants", "3", "--days", "60", "--seed", "4", "--out", out})
	require.Zero(t, code, stderr.String())
	md := stdout.String()
	require.Contains(t, md, "### NAB ("+nab+"): 1 series, 1 labelled windows, 700 points")
	require.Contains(t, md, "| windowedGaussian (NAB baseline) |")
	require.Contains(t, md, "| seasonal (ours, robust) |")
	require.Contains(t, md, "### Synthetic daily costs (seed 4): 3 tenants x 60 days")
	written, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, md, string(written))

	for _, bad := range [][]string{{"anomaly", "eval", "--nab", filepath.Join(nab, "nope")}, {"anomaly", "eval", "--days", "5"}, {"anomaly", "eval", "--min-impact", "x"}, {"anomaly", "bogus"}, {"anomaly"}} {
		stderr.Reset()
		require.NotZero(t, m.Run(context.Background(), bad), bad)
	}
}

func TestRunAnomalyScanMemory(t *testing.T) {
	ctx := context.Background()
	series := memanomaly.NewSeries()
	store := memanomaly.NewStore()
	tn := eusaas.NewTenantID()
	yesterday := anomaly.DayOf(time.Now()).AddDate(0, 0, -1)
	series.Add(tn, anomaly.DailyCost{Day: yesterday, Resource: "CPU", Amount: decimal.RequireFromString("42.5")})
	var notified []anomaly.Anomaly
	sc := anomaly.NewScanner(series,
		anomaly.TenantListerFunc(func(context.Context) ([]anomaly.TenantConfig, error) { return []anomaly.TenantConfig{{ID: tn}}, nil }),
		store, anomaly.NotifierFunc(func(_ context.Context, a anomaly.Anomaly) error {
			notified = append(notified, a)
			return nil
		}), anomaly.ScannerOptions{})
	var out bytes.Buffer
	require.NoError(t, RunAnomalyScan(ctx, sc, &out))
	var got anomalyScanOutput
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.Equal(t, anomalyScanOutput{Tenants: 1, Found: 1, Created: 1, Notified: 1, Failed: map[string]string{}}, got)
	require.Len(t, notified, 1)
	require.Equal(t, anomaly.KindNewSpend, notified[0].Kind)
	l, err := store.List(ctx, tn, anomaly.Filter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, 1, l.Total)

	// A failing tenant makes the command fail after printing the summary.
	bad := eusaas.NewTenantID()
	sc = anomaly.NewScanner(
		anomaly.SeriesSourceFunc(func(context.Context, eusaas.TenantID, time.Time, time.Time) ([]anomaly.DailyCost, error) {
			return nil, eusaas.E(eusaas.Unavailable, "billing down")
		}),
		anomaly.TenantListerFunc(func(context.Context) ([]anomaly.TenantConfig, error) { return []anomaly.TenantConfig{{ID: bad}}, nil }),
		store, nil, anomaly.ScannerOptions{})
	out.Reset()
	err = RunAnomalyScan(ctx, sc, &out)
	require.ErrorContains(t, err, "1 of 1 tenants failed")
	require.Contains(t, out.String(), "billing down")
}

// The wired app (memory mode) has the anomaly module and its scan runs.
func TestAnomalyWiredApp(t *testing.T) {
	ctx := context.Background()
	app, err := NewApp(ctx, anomalyTestConfig(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer app.Close()
	var out bytes.Buffer
	require.NoError(t, RunAnomalyScan(ctx, app.platform.Scanner, &out))
	var got anomalyScanOutput
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.Empty(t, got.Failed)
}

func TestAnomalyNotifierConfig(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	n, err := anomalyNotifier(env(nil), log)
	require.NoError(t, err)
	require.IsType(t, anomaly.LogNotifier{}, n)
	_, err = anomalyNotifier(env(map[string]string{"APP_ANOMALY_WEBHOOK_URL": "https://hooks.example.com/x"}), log)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "APP_ANOMALY_WEBHOOK_SECRET", ce.Var)
	_, err = anomalyNotifier(env(map[string]string{"APP_ANOMALY_WEBHOOK_URL": "ftp://x", "APP_ANOMALY_WEBHOOK_SECRET": "0123456789abcdef"}), log)
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "APP_ANOMALY_WEBHOOK_URL", ce.Var)
	secret := "short-secret"
	_, err = anomalyNotifier(env(map[string]string{"APP_ANOMALY_WEBHOOK_URL": "https://x", "APP_ANOMALY_WEBHOOK_SECRET": secret}), log)
	require.Error(t, err)
	require.NotContains(t, err.Error(), secret, "secrets never appear in errors")
	n, err = anomalyNotifier(env(map[string]string{"APP_ANOMALY_WEBHOOK_URL": "https://x", "APP_ANOMALY_WEBHOOK_SECRET": "0123456789abcdef"}), log)
	require.NoError(t, err)
	require.NotNil(t, n)
}

func anomalyTestConfig(t *testing.T) Config {
	cfg, err := LoadConfig(env(nil))
	require.NoError(t, err)
	cfg.Notice = io.Discard
	return cfg
}

// The backfill scans each day in order as the daily job would have: 40 days of 10 EUR of
// CPU, then 100 EUR on day 40. The first day is new spend, day 40 a spike; nothing else.
// A second backfill of the same range stores nothing new.
func TestRunAnomalyBackfill(t *testing.T) {
	ctx := context.Background()
	series := memanomaly.NewSeries()
	store := memanomaly.NewStore()
	tn := eusaas.NewTenantID()
	first := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for i := 0; i <= 40; i++ {
		amt := "10"
		if i == 40 {
			amt = "100"
		}
		series.Add(tn, anomaly.DailyCost{Day: first.AddDate(0, 0, i), Resource: "CPU", Amount: decimal.RequireFromString(amt)})
	}
	sc := anomaly.NewScanner(series,
		anomaly.TenantListerFunc(func(context.Context) ([]anomaly.TenantConfig, error) { return []anomaly.TenantConfig{{ID: tn}}, nil }),
		store, nil, anomaly.ScannerOptions{})
	last := first.AddDate(0, 0, 40)
	var out bytes.Buffer
	require.NoError(t, RunAnomalyBackfill(ctx, sc, first, last, &out))
	var days []anomalyBackfillDay
	require.NoError(t, json.Unmarshal(out.Bytes(), &days))
	require.Len(t, days, 41)
	require.Equal(t, "2026-01-05", days[0].Day)
	require.Equal(t, 1, days[0].Created, "new spend on the first day")
	require.Equal(t, 1, days[40].Created, "the spike on the last day")
	created := 0
	for _, d := range days {
		created += d.Created
	}
	require.Equal(t, 2, created)
	l, err := store.List(ctx, tn, anomaly.Filter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Len(t, l.Items, 2)
	for _, a := range l.Items {
		// Detected as the daily job would have: the day after the scored one.
		require.True(t, a.DetectedAt.Equal(a.Day.AddDate(0, 0, 1)), "%v %v", a.Day, a.DetectedAt)
	}

	out.Reset()
	require.NoError(t, RunAnomalyBackfill(ctx, sc, first, last, &out))
	require.NoError(t, json.Unmarshal(out.Bytes(), &days))
	for _, d := range days {
		require.Zero(t, d.Created, d.Day)
	}
}

func TestParseScanRange(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	_, _, ok, err := parseScanRange("", "", now)
	require.NoError(t, err)
	require.False(t, ok, "no range: the ordinary scan")
	from, to, ok, err := parseScanRange("2026-03-01", "2026-03-09", now)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), from)
	require.Equal(t, time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), to)
	for _, bad := range [][2]string{{"2026-03-01", ""}, {"", "2026-03-01"}, {"2026-3-1", "2026-03-02"}, {"2026-03-01", "x"},
		{"2026-03-05", "2026-03-04"}, {"2026-03-01", "2026-03-10"}, {"2025-01-01", "2026-03-01"}} {
		_, _, _, err := parseScanRange(bad[0], bad[1], now)
		require.Error(t, err, bad)
	}
	var stdout, stderr bytes.Buffer
	m := &Main{Stdout: &stdout, Stderr: &stderr, Getenv: env(nil)}
	require.NotZero(t, m.Run(context.Background(), []string{"anomaly", "scan", "--from", "2026-03-01"}))
}
