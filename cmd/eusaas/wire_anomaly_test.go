package main

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/tenancy"
)

// A tenant's settings.anomaly_min_impact reaches the wired scanner: the same 50 EUR CPU
// spike (10 EUR a day for four weeks, then 60) is reported for a tenant on the default 5 EUR
// and not for one that set 100 EUR.
func TestAnomalyWiredMinImpact(t *testing.T) {
	ctx := eusaas.WithActor(context.Background(), eusaas.Actor{Kind: eusaas.ActorOperator, ID: "op-test"})
	app, err := NewApp(ctx, anomalyTestConfig(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer app.Close()

	create := func(slug string) eusaas.TenantID {
		res := app.createActive(t, tenancy.CreateInput{Name: "Org " + slug, Slug: slug, AdminEmail: "owner@" + slug + ".example"})
		return res.Tenant.ID
	}
	def, high := create("default-impact"), create("high-impact")
	hundred := decimal.NewFromInt(100)
	_, err = app.platform.Tenancy.Update(ctx, high, tenancy.UpdateInput{Settings: &tenancy.SettingsPatch{AnomalyMinImpact: &hundred}})
	require.NoError(t, err)

	yesterday := anomaly.DayOf(time.Now()).AddDate(0, 0, -1)
	for _, tn := range []eusaas.TenantID{def, high} {
		var evs []billing.UsageEvent
		for back := 28; back >= 0; back-- {
			qty := "500" // vCPU-hours at 0.02 EUR: 10 EUR
			if back == 0 {
				qty = "3000" // 60 EUR
			}
			evs = append(evs, billing.UsageEvent{
				ID: fmt.Sprintf("cpu-%d", back), ResourceType: billing.CPU, Quantity: decimal.RequireFromString(qty),
				Timestamp: yesterday.AddDate(0, 0, -back).Add(12 * time.Hour),
			})
		}
		res, err := app.platform.Billing.Ingest(ctx, tn, evs)
		require.NoError(t, err)
		require.Equal(t, len(evs), res.Accepted, "%+v", res.Results)
	}

	rep, err := app.platform.Scanner.ScanAll(ctx)
	require.NoError(t, err)
	require.Empty(t, rep.Failed)
	spikes := func(tn eusaas.TenantID) []anomaly.Anomaly {
		l, err := app.platform.Anomaly.List(ctx, tn, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 100})
		require.NoError(t, err)
		var out []anomaly.Anomaly
		for _, a := range l.Items {
			if a.Kind != anomaly.KindBudget {
				out = append(out, a)
			}
		}
		return out
	}
	got := spikes(def)
	require.Len(t, got, 1, "the default tenant's spike is reported")
	require.Equal(t, anomaly.KindSpike, got[0].Kind)
	require.Equal(t, "50", got[0].Impact.String())
	require.True(t, got[0].Alerted)
	// Every anomaly is stored; the tenant's minimum impact decides who is told.
	quiet := spikes(high)
	require.Len(t, quiet, 1)
	require.Equal(t, "50", quiet[0].Impact.String())
	require.False(t, quiet[0].Alerted, "below the tenant's 100 EUR minimum impact: stored, not alerted")
}
