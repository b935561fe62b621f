package memanomaly

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/memtx"
)

// Store takes part in GDPR exports and tenant erasure as the anomalies table of the
// Postgres tenant schema (0050_anomaly.sql, 0051_anomaly_retention.sql). The table has no
// subject column (as in Postgres), so subject-filtered exports skip it.
//
// Its retention (EnforceDataRetention) does what the Postgres adapter's generic retention
// does to that table (created_at = detected_at, plus deleted_at): anomalies recorded more
// than default_retention_days ago are soft-deleted, and hard-deleted once soft-deleted for
// longer than the grace period.
var _ eusaas.DataSource = (*Store)(nil)

var anomalyGDPRTables = []eusaas.DataTable{
	{Name: "anomalies", Columns: []string{"id", "day", "detected_at", "service", "kind", "rule", "severity", "score",
		"expected_amount", "actual_amount", "impact_amount", "deviation_pct", "description", "contributions",
		"acknowledged", "acknowledged_by", "acknowledged_at", "suppressed_by", "created_at", "deleted_at",
		"alerted", "alerted_subscriptions", "feedback_verdict", "feedback_note", "feedback_by", "feedback_at",
		"status", "last_day", "end_date", "total_impact", "max_deviation_pct", "root_causes"}},
	{Name: "anomaly_alert_subscriptions", Columns: []string{"id", "position", "threshold_amount", "threshold_pct",
		"combine", "frequency", "channels"}},
}

// anomalyGDPRRootCause is the JSON shape of one root cause in anomalies.root_causes (as the
// Postgres store writes it: decimal strings).
type anomalyGDPRRootCause struct {
	Dimension    string `json:"dimension"`
	Value        string `json:"value"`
	Expected     string `json:"expected"`
	Actual       string `json:"actual"`
	Contribution string `json:"contribution"`
	SharePct     string `json:"share_pct"`
}

// anomalyGDPRChannel is the JSON shape of one channel in
// anomaly_alert_subscriptions.channels (as the Postgres store writes it).
type anomalyGDPRChannel struct {
	Type    string `json:"type"`
	URL     string `json:"url,omitempty"`
	Secret  string `json:"secret,omitempty"`
	Address string `json:"address,omitempty"`
}

// subscriptionGDPRRows returns the tenant's subscriptions as typed rows, by position.
// Callers hold mu (read).
func (s *Store) subscriptionGDPRRows(tenant eusaas.TenantID) ([]eusaas.DataRow, error) {
	t := s.tenants[tenant]
	if t == nil {
		return nil, nil
	}
	rows := make([]eusaas.DataRow, 0, len(t.subs))
	for i, sub := range t.subs {
		chs := make([]anomalyGDPRChannel, 0, len(sub.Channels))
		for _, c := range sub.Channels {
			chs = append(chs, anomalyGDPRChannel{Type: string(c.Type), URL: c.URL, Secret: c.Secret, Address: c.Address})
		}
		b, err := json.Marshal(chs)
		if err != nil {
			return nil, err
		}
		var amt, pct any
		if sub.ThresholdAmount != nil {
			amt = eusaas.Decimal(sub.ThresholdAmount.String())
		}
		if sub.ThresholdPct != nil {
			pct = eusaas.Decimal(sub.ThresholdPct.String())
		}
		rows = append(rows, eusaas.DataRow{sub.ID.String(), int64(i), amt, pct, string(sub.Combine), string(sub.Frequency), json.RawMessage(b)})
	}
	return rows, nil
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

// DataTables implements eusaas.DataSource.
func (s *Store) DataTables(tenant eusaas.TenantID) []eusaas.DataTable {
	return eusaas.TenantDataTables(tenant, anomalyGDPRTables)
}

// anomalyGDPRRows returns the tenant's anomalies as typed rows, ordered by id. Callers hold
// mu (read).
func (s *Store) anomalyGDPRRows(tenant eusaas.TenantID) ([]eusaas.DataRow, error) {
	t := s.tenants[tenant]
	if t == nil {
		return nil, nil
	}
	rows := make([]eusaas.DataRow, 0, len(t.byID))
	for id, a := range t.byID {
		var deleted any
		if at, ok := t.deleted[id]; ok {
			deleted = eusaas.DataTime(at)
		}
		cs := make([]anomalyGDPRContribution, 0, len(a.Contributions))
		for _, c := range a.Contributions {
			j := anomalyGDPRContribution{Resource: c.Resource, Expected: c.Expected.String(), Actual: c.Actual.String(), Delta: c.Delta.String()}
			if c.SharePct != nil {
				p := c.SharePct.String()
				j.SharePct = &p
			}
			cs = append(cs, j)
		}
		contribs, err := json.Marshal(cs)
		if err != nil {
			return nil, err
		}
		rcs := make([]anomalyGDPRRootCause, 0, len(a.RootCauses))
		for _, r := range a.RootCauses {
			rcs = append(rcs, anomalyGDPRRootCause{Dimension: r.Dimension, Value: r.Value, Expected: r.ExpectedAmount.String(),
				Actual: r.ActualAmount.String(), Contribution: r.ContributionAmount.String(), SharePct: r.SharePct.String()})
		}
		causes, err := json.Marshal(rcs)
		if err != nil {
			return nil, err
		}
		fired := make([]string, 0, len(a.AlertedSubscriptions))
		for _, id := range a.AlertedSubscriptions {
			fired = append(fired, id.String())
		}
		firedJSON, err := json.Marshal(fired)
		if err != nil {
			return nil, err
		}
		var dev, ackBy, fbVerdict, fbNote, fbBy, fbAt, endDate, maxDev any
		if a.EndDate != nil {
			endDate = dataDate(*a.EndDate)
		}
		if a.MaxDeviationPct != nil {
			maxDev = eusaas.Decimal(a.MaxDeviationPct.String())
		}
		if fb := a.Feedback; fb != nil {
			fbVerdict, fbBy, fbAt = string(fb.Verdict), fb.By, eusaas.DataTime(fb.At)
			if fb.Note != "" { // the Postgres store writes an empty note as NULL
				fbNote = fb.Note
			}
		}
		if a.DeviationPct != nil {
			dev = eusaas.Decimal(a.DeviationPct.String())
		}
		if a.Acknowledged { // the Postgres store leaves acknowledged_by NULL until acknowledged
			ackBy = a.AcknowledgedBy
		}
		rows = append(rows, eusaas.DataRow{a.ID.String(), dataDate(a.Day), eusaas.DataTime(a.DetectedAt),
			a.Service, string(a.Kind), a.Rule, string(a.Severity),
			a.Score, eusaas.Decimal(a.Expected.String()), eusaas.Decimal(a.Actual.String()), eusaas.Decimal(a.Impact.String()),
			dev, a.Description, json.RawMessage(contribs), a.Acknowledged, ackBy,
			dataTimePtr(a.AcknowledgedAt), dataUUIDPtr(a.SuppressedBy), eusaas.DataTime(a.DetectedAt), deleted,
			a.Alerted, json.RawMessage(firedJSON), fbVerdict, fbNote, fbBy, fbAt,
			string(a.Status), dataDate(a.LastDay), endDate, eusaas.Decimal(a.TotalImpact.String()), maxDev, json.RawMessage(causes)})
	}
	eusaas.SortDataRows(rows, 0)
	return rows, nil
}

// ScanData implements eusaas.DataSource; fn runs after the store's lock is released.
func (s *Store) ScanData(ctx context.Context, tenant eusaas.TenantID, table string, subjects []string, fn func(eusaas.DataRow) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, ok := eusaas.FindDataTable(anomalyGDPRTables, table)
	if !ok || tenant.IsZero() {
		return nil
	}
	s.mu.RLock()
	var rows []eusaas.DataRow
	var err error
	if table == "anomalies" {
		rows, err = s.anomalyGDPRRows(tenant)
	} else {
		rows, err = s.subscriptionGDPRRows(tenant)
	}
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	return eusaas.EmitDataRows(ctx, t, rows, subjects, fn)
}

// DeleteTenantData implements eusaas.DataSource: it removes the tenant's anomalies and alert
// subscriptions. Idempotent; a
// memory transaction's rollback restores them.
func (s *Store) DeleteTenantData(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := eusaas.ZeroDataCounts(anomalyGDPRTables)
	s.mu.Lock()
	old := s.tenants[tenant]
	if old != nil {
		out["anomalies"] = len(old.byID)
		out["anomaly_alert_subscriptions"] = len(old.subs)
		delete(s.tenants, tenant)
	}
	s.mu.Unlock()
	if old != nil {
		memtx.OnRollback(ctx, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			cur := s.tenants[tenant]
			if cur == nil {
				s.tenants[tenant] = old
				return
			}
			if len(cur.subs) == 0 {
				cur.subs = old.subs
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
				if at, ok := old.deleted[id]; ok {
					cur.deleted[id] = at
				}
			}
		})
	}
	return out, nil
}

// EnforceDataRetention enforces the tenant's retention period on its anomalies, in the
// Postgres adapter's order: anomalies soft-deleted before now-grace are removed
// ("anomalies.hard_deleted"), then those recorded (DetectedAt) more than retentionDays
// before now are soft-deleted at now ("anomalies.soft_deleted"). gdpr's retention passes
// the policy's default_retention_days (the wiring adapts it to gdpr.Retainer). Idempotent;
// inside a memory transaction a rollback undoes it.
func (s *Store) EnforceDataRetention(ctx context.Context, tenant eusaas.TenantID, retentionDays int, now time.Time, grace time.Duration) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[string]int{}
	hardCutoff, softCutoff := now.Add(-grace), now.AddDate(0, 0, -retentionDays)
	s.mu.Lock()
	t := s.tenants[tenant]
	if t == nil {
		s.mu.Unlock()
		return out, nil
	}
	hard := map[uuid.UUID]time.Time{}
	for id, at := range t.deleted {
		if at.Before(hardCutoff) {
			hard[id] = at
		}
	}
	removed := map[uuid.UUID]*anomaly.Anomaly{}
	for id := range hard {
		a := t.byID[id]
		removed[id] = a
		delete(t.byID, id)
		delete(t.byKey, anomalyKey{a.Service, a.Day})
		delete(t.deleted, id)
	}
	var soft []uuid.UUID
	for id, a := range t.byID {
		if _, gone := t.deleted[id]; !gone && a.DetectedAt.Before(softCutoff) {
			t.deleted[id] = now.UTC()
			soft = append(soft, id)
		}
	}
	s.mu.Unlock()
	if len(hard) > 0 {
		out["anomalies.hard_deleted"] = len(hard)
	}
	if len(soft) > 0 {
		out["anomalies.soft_deleted"] = len(soft)
	}
	if len(hard) > 0 || len(soft) > 0 {
		memtx.OnRollback(ctx, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, id := range soft {
				delete(t.deleted, id)
			}
			for id, a := range removed {
				k := anomalyKey{a.Service, a.Day}
				if _, taken := t.byKey[k]; taken { // inserted since: (service, day) keeps one
					continue
				}
				t.byID[id], t.byKey[k], t.deleted[id] = a, id, hard[id]
			}
		})
	}
	return out, nil
}
