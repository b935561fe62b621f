package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

var _ gdpr.DSRStore = (*GDPRStore)(nil)

const gdprDSRColumns = "doc, evidence, version"

func gdprDSREncode(d gdpr.DSR) (doc, evidence []byte, err error) {
	if d.Evidence != nil {
		if evidence, err = json.Marshal(d.Evidence); err != nil {
			return nil, nil, err
		}
	}
	d.Evidence, d.Version = nil, 0 // kept in their own columns
	doc, err = json.Marshal(d)
	return doc, evidence, err
}

// gdprJobID is the job column's value: NULL without a job; an id that is no UUID cannot
// name a job of ours, so it is stored as NULL too (and OpenDSRsByJob finds nothing for it).
func gdprJobID(id string) any {
	u, err := uuid.Parse(id)
	if err != nil {
		return nil
	}
	return u
}

func (s *GDPRStore) queryDSRs(ctx context.Context, sql string, args ...any) ([]gdpr.DSR, error) {
	rows, err := s.db.q(ctx).Query(ctx, sql, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []gdpr.DSR
	for rows.Next() {
		var doc, ev []byte
		var version int64
		if err := rows.Scan(&doc, &ev, &version); err != nil {
			return nil, translate(err)
		}
		var d gdpr.DSR
		if err := json.Unmarshal(doc, &d); err != nil {
			return nil, err
		}
		d.Version = version
		if ev != nil {
			d.Evidence = &gdpr.SignedEvidence{}
			if err := json.Unmarshal(ev, d.Evidence); err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
	return out, translate(rows.Err())
}

// CreateDSR implements gdpr.DSRStore.
func (s *GDPRStore) CreateDSR(ctx context.Context, d gdpr.DSR) error {
	doc, ev, err := gdprDSREncode(d)
	if err != nil {
		return err
	}
	_, err = s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.gdpr_dsrs (id, tenant_id, type, status, received_at, deadline, job_id, doc, evidence, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)`,
		d.ID, d.TenantID.UUID(), string(d.Type), string(d.Status), d.ReceivedAt, d.Deadline(), gdprJobID(d.JobID), doc, ev)
	return translate(err)
}

// DSR implements gdpr.DSRStore.
func (s *GDPRStore) DSR(ctx context.Context, tenant eusaas.TenantID, id string) (gdpr.DSR, error) {
	if _, err := uuid.Parse(id); err != nil {
		return gdpr.DSR{}, eusaas.E(eusaas.NotFound, "data-subject request not found")
	}
	ds, err := s.queryDSRs(ctx, `SELECT `+gdprDSRColumns+` FROM eusaas.gdpr_dsrs WHERE id = $1 AND tenant_id = $2`, id, tenant.UUID())
	if err != nil {
		return gdpr.DSR{}, err
	}
	if len(ds) == 0 {
		return gdpr.DSR{}, eusaas.E(eusaas.NotFound, "data-subject request not found")
	}
	return ds[0], nil
}

// UpdateDSR implements gdpr.DSRStore.
func (s *GDPRStore) UpdateDSR(ctx context.Context, d *gdpr.DSR) error {
	if _, err := uuid.Parse(d.ID); err != nil {
		return eusaas.E(eusaas.NotFound, "data-subject request not found")
	}
	doc, ev, err := gdprDSREncode(*d)
	if err != nil {
		return err
	}
	// One statement tells the three outcomes apart, so a stale update inside a
	// transaction costs no second round trip.
	var updated, exists bool
	err = s.db.q(ctx).QueryRow(ctx, `WITH u AS (
			UPDATE eusaas.gdpr_dsrs SET status = $3, deadline = $4, job_id = $5, doc = $6, evidence = $7, version = version + 1
			WHERE id = $1 AND tenant_id = $2 AND version = $8 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM eusaas.gdpr_dsrs WHERE id = $1 AND tenant_id = $2)`,
		d.ID, d.TenantID.UUID(), string(d.Status), d.Deadline(), gdprJobID(d.JobID), doc, ev, d.Version).Scan(&updated, &exists)
	switch {
	case err != nil:
		return translate(err)
	case updated:
		d.Version++
		return nil
	case exists:
		return eusaas.E(eusaas.Aborted, "data-subject request changed concurrently")
	default:
		return eusaas.E(eusaas.NotFound, "data-subject request not found")
	}
}

// ListDSRs implements gdpr.DSRStore.
func (s *GDPRStore) ListDSRs(ctx context.Context, tenant eusaas.TenantID, f gdpr.DSRFilter) ([]gdpr.DSR, error) {
	after := uuid.Nil
	if f.After != "" {
		u, err := uuid.Parse(f.After)
		if err != nil {
			return nil, eusaas.E(eusaas.InvalidArgument, "cursor is not a request id")
		}
		after = u
	}
	var overdue any
	if !f.OverdueAt.IsZero() {
		overdue = f.OverdueAt
	}
	var limit any
	if f.Limit > 0 {
		limit = f.Limit
	}
	return s.queryDSRs(ctx, `SELECT `+gdprDSRColumns+` FROM eusaas.gdpr_dsrs
		WHERE tenant_id = $1 AND id > $2 AND ($3 = '' OR status = $3) AND ($4 = '' OR type = $4)
		AND ($5::timestamptz IS NULL OR (status NOT IN ('COMPLETED', 'REJECTED') AND deadline < $5))
		ORDER BY id LIMIT $6`, tenant.UUID(), after, string(f.Status), string(f.Type), overdue, limit)
}

// OpenDSRsByJob implements gdpr.DSRStore.
func (s *GDPRStore) OpenDSRsByJob(ctx context.Context, tenant eusaas.TenantID, job string) ([]gdpr.DSR, error) {
	j := gdprJobID(job)
	if j == nil {
		return nil, ctx.Err()
	}
	return s.queryDSRs(ctx, `SELECT `+gdprDSRColumns+` FROM eusaas.gdpr_dsrs
		WHERE tenant_id = $1 AND job_id = $2 AND status NOT IN ('COMPLETED', 'REJECTED') ORDER BY id`, tenant.UUID(), j)
}

// CountDSRDeadlines implements gdpr.DSRStore.
func (s *GDPRStore) CountDSRDeadlines(ctx context.Context, now, soon time.Time) (overdue, dueSoon int, err error) {
	err = s.db.q(ctx).QueryRow(ctx, `SELECT count(*) FILTER (WHERE deadline < $1), count(*) FILTER (WHERE deadline >= $1 AND deadline <= $2)
		FROM eusaas.gdpr_dsrs WHERE status NOT IN ('COMPLETED', 'REJECTED')`, now, soon).Scan(&overdue, &dueSoon)
	return overdue, dueSoon, translate(err)
}
