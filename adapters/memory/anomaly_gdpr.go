package memory

import (
	"context"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// AnomalyStore takes part in GDPR exports and tenant erasure as the anomalies table of the
// Postgres tenant schema (0050_anomaly.sql). The table has no subject column (as in
// Postgres), so subject-filtered exports skip it.
//
// It implements no gdpr.Retainer: the Postgres adapter's generic retention covers only
// tables with created_at and deleted_at, and anomalies has neither.
var _ GDPRSource = (*AnomalyStore)(nil)

var anomalyGDPRTables = []gdpr.Table{
	{Name: "anomalies", Columns: []string{"id", "day", "detected_at", "service", "kind", "rule", "severity", "score",
		"expected_amount", "actual_amount", "impact_amount", "deviation_pct", "description", "contributions",
		"acknowledged", "acknowledged_by", "acknowledged_at", "suppressed_by"}},
}

// anomalyGDPRContribution is the JSON shape of one contribution in anomalies.contributions
// (as the Postgres store writes it: decimal strings).
type anomalyGDPRContribution struct {
	Resource string  `json:"resource"`
	Expected string  `json:"expected"`
	Actual   string  `json:"actual"`
	Delta    string  `json:"delta"`
	SharePct *string `json:"share_pct"`
}

// GDPRTables implements GDPRSource.
func (s *AnomalyStore) GDPRTables(tenant eusaas.TenantID) []gdpr.Table {
	return memgdprTables(tenant, anomalyGDPRTables)
}

// anomalyGDPRRows renders the tenant's anomalies, ordered by id. Callers hold mu (read).
func (s *AnomalyStore) anomalyGDPRRows(tenant eusaas.TenantID) ([]memgdprRow, error) {
	t := s.tenants[tenant]
	if t == nil {
		return nil, nil
	}
	rows := make([]memgdprRow, 0, len(t.byID))
	for _, a := range t.byID {
		cs := make([]anomalyGDPRContribution, 0, len(a.Contributions))
		for _, c := range a.Contributions {
			j := anomalyGDPRContribution{Resource: c.Resource, Expected: c.Expected.String(), Actual: c.Actual.String(), Delta: c.Delta.String()}
			if c.SharePct != nil {
				p := c.SharePct.String()
				j.SharePct = &p
			}
			cs = append(cs, j)
		}
		contribs, err := memgdprJSONB(cs)
		if err != nil {
			return nil, err
		}
		var dev, ackBy []byte
		if a.DeviationPct != nil {
			dev = []byte(a.DeviationPct.String())
		}
		if a.Acknowledged { // the Postgres store leaves acknowledged_by NULL until acknowledged
			ackBy = memgdprText(a.AcknowledgedBy)
		}
		rows = append(rows, memgdprRow{memgdprUUID(a.ID), memgdprDate(a.Day), memgdprTime(a.DetectedAt),
			memgdprText(a.Service), memgdprText(string(a.Kind)), memgdprText(a.Rule), memgdprText(string(a.Severity)),
			memgdprFloat(a.Score), []byte(a.Expected.String()), []byte(a.Actual.String()), []byte(a.Impact.String()),
			dev, memgdprText(a.Description), contribs, memgdprBool(a.Acknowledged), ackBy,
			memgdprTimePtr(a.AcknowledgedAt), memgdprUUIDPtr(a.SuppressedBy)})
	}
	memgdprSortRows(rows, 0)
	return rows, nil
}

// GDPRScan implements GDPRSource; fn runs after the store's lock is released.
func (s *AnomalyStore) GDPRScan(ctx context.Context, tenant eusaas.TenantID, table string, subjects []string, fn func([][]byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, ok := memgdprFind(anomalyGDPRTables, table)
	if !ok || tenant.IsZero() {
		return nil
	}
	s.mu.RLock()
	rows, err := s.anomalyGDPRRows(tenant)
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	return memgdprEmit(ctx, t, rows, subjects, fn)
}

// GDPRDeleteTenant implements GDPRSource: it removes the tenant's anomalies. Idempotent; a
// memory transaction's rollback restores them.
func (s *AnomalyStore) GDPRDeleteTenant(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := memgdprZeroCounts(anomalyGDPRTables)
	s.mu.Lock()
	old := s.tenants[tenant]
	if old != nil {
		out["anomalies"] = len(old.byID)
		delete(s.tenants, tenant)
	}
	s.mu.Unlock()
	if old != nil {
		OnRollback(ctx, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			cur := s.tenants[tenant]
			if cur == nil {
				s.tenants[tenant] = old
				return
			}
			// Anomalies inserted since the deletion stay; (service, day) keeps one each.
			for k, id := range old.byKey {
				if _, taken := cur.byKey[k]; taken {
					continue
				}
				if _, taken := cur.byID[id]; taken {
					continue
				}
				cur.byKey[k], cur.byID[id] = id, old.byID[id]
			}
		})
	}
	return out, nil
}
