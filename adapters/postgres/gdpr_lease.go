package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

var _ gdpr.LeaseStore = (*GDPRStore)(nil)

// Lease implements gdpr.LeaseStore.
func (s *GDPRStore) Lease(ctx context.Context, id string) (gdpr.Lease, error) {
	l := gdpr.Lease{RequestID: id}
	err := s.db.q(ctx).QueryRow(ctx, `SELECT owner, expires_at FROM eusaas.gdpr_request_leases WHERE request_id = $1`, id).
		Scan(&l.Owner, &l.Until)
	if errors.Is(err, pgx.ErrNoRows) {
		return gdpr.Lease{}, eusaas.E(eusaas.NotFound, "no lease")
	}
	if err != nil {
		return gdpr.Lease{}, translate(err)
	}
	l.Until = l.Until.UTC()
	return l, nil
}

// AcquireLease implements gdpr.LeaseStore: one upsert whose WHERE is the rule of who may
// take the lease, so two processes racing for it cannot both win.
func (s *GDPRStore) AcquireLease(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	rows, err := s.db.q(ctx).Query(ctx, `INSERT INTO eusaas.gdpr_request_leases AS l (request_id, owner, expires_at)
		VALUES ($1, $2, $4)
		ON CONFLICT (request_id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
		WHERE l.expires_at <= $3 OR ($2 <> '' AND (l.owner = '' OR l.owner = $2))
		RETURNING 1`, id, owner, now, until)
	if err != nil {
		return false, translate(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		return false, translate(err)
	}
	return n == 1, nil
}

// ReleaseLease implements gdpr.LeaseStore.
func (s *GDPRStore) ReleaseLease(ctx context.Context, id, owner string, queuedUntil time.Time) error {
	var err error
	if queuedUntil.IsZero() {
		_, err = s.db.q(ctx).Exec(ctx, `DELETE FROM eusaas.gdpr_request_leases WHERE request_id = $1 AND owner = $2`, id, owner)
	} else {
		_, err = s.db.q(ctx).Exec(ctx, `UPDATE eusaas.gdpr_request_leases SET owner = '', expires_at = $3
			WHERE request_id = $1 AND owner = $2`, id, owner, queuedUntil)
	}
	return translate(err)
}
