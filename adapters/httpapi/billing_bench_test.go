package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/httpapi/httpapitest"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/internal/pgtest"
)

// BenchmarkBillingHTTPIngest measures events/s of POST /tenants/{id}/usage with batches of
// 1000 events on the Postgres stores (JSON decoding, validation, exact quantity parsing,
// auth, ingestion, response encoding), against Service.Ingest called directly with the same
// kind of batches in the same run. ratio = http/direct.
//
//	go test ./adapters/httpapi/ -run '^$' -bench BillingHTTPIngest -benchtime=30x
func BenchmarkBillingHTTPIngest(b *testing.B) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(b))
	require.NoError(b, db.MigratePlatform(ctx))
	h := httpapitest.New(b)
	svc, err := billing.NewService(billing.Deps{Usage: postgres.NewBillingUsageStore(db), Invoices: postgres.NewBillingInvoiceStore(db), Prices: postgres.NewBillingPriceStore(db), Tx: db}, billing.Options{})
	require.NoError(b, err)
	httpapi.RegisterBilling(h.Server, svc)
	tn := h.NewTenant()
	require.NoError(b, db.CreateTenantSchema(ctx, tn))
	token := h.Service()
	now := time.Now().UTC()

	type wireEvent struct {
		ID           string            `json:"id"`
		ResourceType string            `json:"resource_type"`
		Quantity     string            `json:"quantity"`
		Timestamp    time.Time         `json:"timestamp"`
		Attributes   map[string]string `json:"attributes"`
	}
	batch := func(prefix string) ([]billing.UsageEvent, []byte) {
		evs := make([]billing.UsageEvent, 1000)
		wire := make([]wireEvent, 1000)
		for i := range evs {
			evs[i] = billing.UsageEvent{ID: fmt.Sprintf("%s-%d", prefix, i), ResourceType: billing.ResourceTypes[i%5],
				Quantity: decimal.New(int64(i+1), -2), Timestamp: now.Add(-time.Duration(i) * time.Minute),
				Attributes: map[string]string{"node": "n1"}}
			wire[i] = wireEvent{evs[i].ID, string(evs[i].ResourceType), evs[i].Quantity.String(), evs[i].Timestamp, evs[i].Attributes}
		}
		body, err := json.Marshal(map[string]any{"events": wire})
		require.NoError(b, err)
		return evs, body
	}
	path := "/api/v1/tenants/" + tn.String() + "/usage"
	var direct, viaHTTP time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		evs, _ := batch(fmt.Sprint("d", i))
		_, body := batch(fmt.Sprint("h", i))
		b.StartTimer()
		t0 := time.Now()
		r, err := svc.Ingest(ctx, tn, evs)
		require.NoError(b, err)
		require.Equal(b, 1000, r.Accepted)
		t1 := time.Now()
		resp := h.Do(http.MethodPost, path, body, token)
		viaHTTP += time.Since(t1)
		direct += t1.Sub(t0)
		require.Equal(b, http.StatusOK, resp.Status, "%s", resp.Body)
	}
	b.StopTimer()
	n := float64(b.N * 1000)
	b.ReportMetric(n/direct.Seconds(), "direct_events/s")
	b.ReportMetric(n/viaHTTP.Seconds(), "http_events/s")
	b.ReportMetric(direct.Seconds()/viaHTTP.Seconds(), "ratio")
	b.ReportMetric(0, "ns/op")
}
