package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

var _ gdpr.BreachStore = (*GDPRStore)(nil)

func (s *GDPRStore) queryBreaches(ctx context.Context, sql string, args ...any) ([]gdpr.Breach, error) {
	rows, err := s.db.q(ctx).Query(ctx, sql, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []gdpr.Breach
	for rows.Next() {
		var doc []byte
		var version int64
		if err := rows.Scan(&doc, &version); err != nil {
			return nil, translate(err)
		}
		var b gdpr.Breach
		if err := json.Unmarshal(doc, &b); err != nil {
			return nil, err
		}
		b.Version = version
		out = append(out, b)
	}
	return out, translate(rows.Err())
}

func gdprBreachDoc(b gdpr.Breach) ([]byte, error) {
	b.Version = 0
	return json.Marshal(b)
}

// CreateBreach implements gdpr.BreachStore.
func (s *GDPRStore) CreateBreach(ctx context.Context, b gdpr.Breach) error {
	doc, err := gdprBreachDoc(b)
	if err != nil {
		return err
	}
	_, err = s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.gdpr_breaches (id, detected_at, notify_authority_by, status, doc, version)
		VALUES ($1, $2, $3, $4, $5, 1)`, b.ID, b.DetectedAt, b.NotifyAuthorityBy, string(b.Status), doc)
	return translate(err)
}

// Breach implements gdpr.BreachStore.
func (s *GDPRStore) Breach(ctx context.Context, id string) (gdpr.Breach, error) {
	if _, err := uuid.Parse(id); err != nil {
		return gdpr.Breach{}, eusaas.E(eusaas.NotFound, "breach not found")
	}
	bs, err := s.queryBreaches(ctx, `SELECT doc, version FROM eusaas.gdpr_breaches WHERE id = $1`, id)
	if err != nil {
		return gdpr.Breach{}, err
	}
	if len(bs) == 0 {
		return gdpr.Breach{}, eusaas.E(eusaas.NotFound, "breach not found")
	}
	return bs[0], nil
}

// UpdateBreach implements gdpr.BreachStore.
func (s *GDPRStore) UpdateBreach(ctx context.Context, b *gdpr.Breach) error {
	if _, err := uuid.Parse(b.ID); err != nil {
		return eusaas.E(eusaas.NotFound, "breach not found")
	}
	doc, err := gdprBreachDoc(*b)
	if err != nil {
		return err
	}
	var updated, exists bool
	err = s.db.q(ctx).QueryRow(ctx, `WITH u AS (
			UPDATE eusaas.gdpr_breaches SET status = $2, notify_authority_by = $3, doc = $4, version = version + 1
			WHERE id = $1 AND version = $5 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM eusaas.gdpr_breaches WHERE id = $1)`,
		b.ID, string(b.Status), b.NotifyAuthorityBy, doc, b.Version).Scan(&updated, &exists)
	switch {
	case err != nil:
		return translate(err)
	case updated:
		b.Version++
		return nil
	case exists:
		return eusaas.E(eusaas.Aborted, "breach changed concurrently")
	default:
		return eusaas.E(eusaas.NotFound, "breach not found")
	}
}

// Breaches implements gdpr.BreachStore.
func (s *GDPRStore) Breaches(ctx context.Context) ([]gdpr.Breach, error) {
	return s.queryBreaches(ctx, `SELECT doc, version FROM eusaas.gdpr_breaches ORDER BY detected_at DESC, id DESC`)
}

// CountBreachesOverdue implements gdpr.BreachStore.
func (s *GDPRStore) CountBreachesOverdue(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.db.q(ctx).QueryRow(ctx, `SELECT count(*) FROM eusaas.gdpr_breaches WHERE status = 'OPEN' AND notify_authority_by < $1`, now).Scan(&n)
	return n, translate(err)
}
