package metering_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/metering"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/internal/pgtest"
)

var now = time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)

func newService(t *testing.T, clock eusaas.Clock) *billing.Service {
	t.Helper()
	svc, err := billing.NewService(billing.Deps{Usage: membilling.NewUsageStore(), Invoices: membilling.NewInvoiceStore(), Prices: membilling.NewPriceStore()}, billing.Options{Clock: clock})
	require.NoError(t, err)
	return svc
}

// flaky stores the usage but reports a failure for the first n calls, like a response lost
// after the commit.
type flaky struct {
	inner metering.Ingester
	fails atomic.Int32
}

func (f *flaky) Ingest(ctx context.Context, t eusaas.TenantID, evs []billing.UsageEvent) (billing.IngestResult, error) {
	r, err := f.inner.Ingest(ctx, t, evs)
	if err == nil && f.fails.Add(-1) >= 0 {
		return billing.IngestResult{}, errors.New("connection reset after commit")
	}
	return r, err
}

func total(t *testing.T, svc *billing.Service, tn eusaas.TenantID, r billing.ResourceType) decimal.Decimal {
	t.Helper()
	b, err := svc.Costs(context.Background(), tn, now.AddDate(0, 0, -2), now.AddDate(0, 0, 3), billing.ByResource)
	require.NoError(t, err)
	for _, l := range b.Lines {
		if l.Service == r {
			return l.Quantity
		}
	}
	return decimal.Zero
}

func TestAPICounterRetriedFlushNeverDoubleCounts(t *testing.T) {
	clock := eusaas.NewFakeClock(now)
	svc := newService(t, clock)
	ing := &flaky{inner: svc}
	ing.fails.Store(2)
	c := metering.NewAPICounter(ing, clock, nil)
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i%4 == 0 {
				c.Hook(context.Background(), b, "/api/v1/tenants/{id}/costs")
			} else {
				c.Hook(context.Background(), a, "/api/v1/tenants/{id}/costs")
			}
		}(i)
	}
	wg.Wait()
	require.Error(t, c.Flush(context.Background()), "both tenants' acks were lost")
	// More calls arrive while the first events are pending.
	c.Hook(context.Background(), a, "x")
	require.NoError(t, c.Flush(context.Background()))
	require.NoError(t, c.Flush(context.Background()))
	require.NoError(t, c.Flush(context.Background()))
	require.Equal(t, "76", total(t, svc, a, billing.APICalls).String())
	require.Equal(t, "25", total(t, svc, b, billing.APICalls).String())
}

func TestStorageMeterPostgres(t *testing.T) {
	db := postgres.New(pgtest.Pool(t))
	ctx := context.Background()
	require.NoError(t, db.MigratePlatform(ctx))
	tn := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tn))
	clock := eusaas.NewFakeClock(now)
	usage := postgres.NewBillingUsageStore(db)
	svc, err := billing.NewService(billing.Deps{Usage: usage, Invoices: postgres.NewBillingInvoiceStore(db), Prices: postgres.NewBillingPriceStore(db), Tx: db},
		billing.Options{Clock: clock})
	require.NoError(t, err)
	bytes, err := usage.SchemaBytes(ctx, tn)
	require.NoError(t, err)
	require.Positive(t, bytes, "the schema's tables and indexes take space")
	// Without Citus the measure is pg_total_relation_size over the schema's tables (with
	// Citus, citus_total_relation_size for distributed ones: see SchemaBytes).
	citus, err := db.CitusInstalled(ctx)
	require.NoError(t, err)
	require.False(t, citus)
	var local int64
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c
		WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r'`, tn.SchemaName()).Scan(&local))
	require.Equal(t, local, bytes)

	m := metering.NewStorageMeter(svc, usage, func(context.Context) ([]eusaas.TenantID, error) { return []eusaas.TenantID{tn}, nil }, clock, nil)
	n, err := m.Measure(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	first := total(t, svc, tn, billing.Storage)
	require.True(t, first.Equal(decimal.New(bytes, -9)), "%s GB vs %d bytes", first, bytes)
	// Later runs the same day are duplicates; the next day adds a second GB-day.
	clock.Advance(2 * time.Hour)
	_, err = m.Measure(ctx)
	require.NoError(t, err)
	require.True(t, first.Equal(total(t, svc, tn, billing.Storage)))
	clock.Advance(24 * time.Hour)
	_, err = m.Measure(ctx)
	require.NoError(t, err)
	require.True(t, total(t, svc, tn, billing.Storage).GreaterThan(first))
}

// fakeProm speaks the Prometheus HTTP query API for the default queries.
func fakeProm(t *testing.T, tenant eusaas.TenantID, calls *atomic.Int32) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		require.Equal(t, "/prom/api/v1/query", r.URL.Path)
		require.NotEmpty(t, r.URL.Query().Get("time"))
		q := r.URL.Query().Get("query")
		w.Header().Set("Content-Type", "application/json")
		sample := func(label, v string) string {
			return fmt.Sprintf(`{"metric":{"tenant_id":%q,"pod":"p"},"value":[%s.5,%q]}`, label, r.URL.Query().Get("time"), v)
		}
		var res []string
		switch {
		case strings.Contains(q, "cpu"):
			res = []string{sample(tenant.String(), "1.25"), sample("not-a-tenant", "9"), sample(eusaas.NewTenantID().String(), "NaN")}
		case strings.Contains(q, "memory"):
			res = []string{sample(tenant.String(), "4.0000000000000001e-01")}
		case strings.Contains(q, "network"):
			res = []string{sample(tenant.String(), "0.000123456789012345678")}
		default:
			_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"unknown query"}`))
			return
		}
		_, _ = fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[%s]}}`, strings.Join(res, ","))
	}))
}

func TestPrometheusCollector(t *testing.T) {
	clock := eusaas.NewFakeClock(now)
	svc := newService(t, clock)
	tn := eusaas.NewTenantID()
	var calls atomic.Int32
	srv := fakeProm(t, tn, &calls)
	defer srv.Close()
	c, err := metering.NewPrometheusCollector(srv.URL+"/prom/", svc, metering.PrometheusOptions{Clock: clock})
	require.NoError(t, err)
	n, err := c.Collect(context.Background(), now)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, "1.25", total(t, svc, tn, billing.CPU).String())
	require.Equal(t, "0.4", total(t, svc, tn, billing.Memory).String())
	require.Equal(t, "0.000123456789", total(t, svc, tn, billing.Network).String(), "rounded to 12 digits, no float")
	// Collecting the same hour again (a retry, another replica) adds nothing.
	n, err = c.Collect(context.Background(), now.Add(10*time.Minute))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, "1.25", total(t, svc, tn, billing.CPU).String())
	// The next hour is new usage (collected once it is over).
	clock.Advance(time.Hour)
	_, err = c.Collect(context.Background(), now.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, "2.5", total(t, svc, tn, billing.CPU).String())
}

func TestPrometheusCollectorErrors(t *testing.T) {
	clock := eusaas.NewFakeClock(now)
	svc := newService(t, clock)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"parse error"}`))
	}))
	defer srv.Close()
	c, err := metering.NewPrometheusCollector(srv.URL, svc, metering.PrometheusOptions{Clock: clock})
	require.NoError(t, err)
	_, err = c.Collect(context.Background(), now)
	require.ErrorContains(t, err, "parse error")
	_, err = metering.NewPrometheusCollector("ftp://x", svc, metering.PrometheusOptions{})
	require.Error(t, err)
	srv.Close()
	_, err = c.Collect(context.Background(), now)
	require.Equal(t, eusaas.Unavailable, eusaas.KindOf(err))
}
