package memory_test

import (
	"context"
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/memory"
	"github.com/eusaas/eusaas/anomaly"
)

func TestAnomalyGDPRSource(t *testing.T) {
	memgdprRunSource(t, memgdprSourceCase{
		pick:     func(s memgdprStores) memory.GDPRSource { return s.Anomalies },
		subjects: map[string]string{"anomalies": ""},
		counts:   map[string]int{"anomalies": 2},
	})
}

// TestAnomalyGDPRDeleteTenantStore checks the deletion through the store's own methods, and
// that the subject filter skips the table (no subject column, as in Postgres).
func TestAnomalyGDPRDeleteTenantStore(t *testing.T) {
	ctx := context.Background()
	s := memgdprNew()
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	seed := memgdprFill(t, ctx, s.ports(), a)
	seedB := memgdprFill(t, ctx, s.ports(), b)
	n := 0
	if err := s.Anomalies.GDPRScan(ctx, a, "anomalies", []string{seed.U1.String()}, func([][]byte) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("subject-filtered scan: %d rows, %v", n, err)
	}
	if _, err := s.Anomalies.GDPRDeleteTenant(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Anomalies.Get(ctx, a, seed.Anomaly); eusaas.KindOf(err) != eusaas.NotFound {
		t.Fatalf("anomaly after erasure: %v", err)
	}
	if l, err := s.Anomalies.List(ctx, a, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 10}); err != nil || l.Total != 0 {
		t.Fatalf("anomalies after erasure: %+v, %v", l, err)
	}
	if l, err := s.Anomalies.List(ctx, b, anomaly.Filter{}, eusaas.Page{Page: 1, Size: 10}); err != nil || l.Total != 2 {
		t.Fatalf("tenant B's anomalies: %+v, %v", l, err)
	}
	if _, err := s.Anomalies.Get(ctx, b, seedB.Anomaly); err != nil {
		t.Fatalf("tenant B's anomaly: %v", err)
	}
}
