package postgres_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/internal/pgtest"
)

type pgTenants []eusaas.TenantID

func (l pgTenants) TenantIDs(context.Context) ([]eusaas.TenantID, error) { return l, nil }

// TestGDPRRetentionPIIAndHolds runs the retention job of the gdpr service on Postgres for two
// tenants with pii_retention_days = 7, one of them under a legal hold: in the free tenant the
// sessions opened before the period plus grace lose their IP and user agent (rows kept), its
// old invitations are deleted with their e-mails, and the counts are audited; the held
// tenant's rows are all still there, byte for byte.
func TestGDPRRetentionPIIAndHolds(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	free, held := eusaas.NewTenantID(), eusaas.NewTenantID()
	now := time.Now().UTC().Truncate(time.Microsecond)
	grace := 30 * 24 * time.Hour
	old, recent := now.AddDate(0, 0, -8).Add(-grace), now.AddDate(0, 0, -1)
	for _, tenant := range []eusaas.TenantID{free, held} {
		require.NoError(t, db.CreateTenantSchema(ctx, tenant))
		require.NoError(t, db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
			for i, at := range []time.Time{old, recent} {
				if _, err := tx.Exec(ctx, `INSERT INTO auth_sessions (id, user_id, counter, token_hash, created_at, rotated_at, expires_at, ip, user_agent)
					VALUES (gen_random_uuid(), gen_random_uuid(), 0, '\x00', $1, $1, $2, '203.0.113.7', 'Firefox')`, at, now.AddDate(1, 0, 0)); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO auth_invitations (id, email, role, token_hash, created_by, created_at, expires_at)
					VALUES (gen_random_uuid(), $1, 'MEMBER', $2, 'system', $3, $4)`, fmt.Sprintf("p%d@example.eu", i), []byte{byte(i)}, at, now.AddDate(1, 0, 0)); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	store, err := postgres.NewGDPRStore(db, nil)
	require.NoError(t, err)
	data := postgres.NewGDPRData(db)
	_, key, _ := ed25519.GenerateKey(nil)
	rec := &gdprtest.Recorder{}
	svc, err := gdpr.NewService(gdpr.Deps{Tx: db, Requests: store, Policies: store, Holds: store, Keys: store, Archives: memgdpr.NewArchives(),
		Data: data, Queue: &gdprtest.Queue{}, Recorder: rec, Tenants: pgTenants{free, held}, Retainers: []gdpr.Retainer{data}},
		gdpr.Options{SigningKey: key, Clock: eusaas.NewFakeClock(now), RetentionGrace: grace})
	require.NoError(t, err)
	for _, tenant := range []eusaas.TenantID{free, held} {
		_, err := svc.SetRetentionPolicy(ctx, gdpr.Policy{TenantID: tenant, DefaultRetentionDays: 3650, AuditLogRetentionDays: 3650,
			BackupRetentionDays: 30, PIIRetentionDays: 7})
		require.NoError(t, err)
	}
	hold, err := svc.PlaceHold(ctx, held, "litigation")
	require.NoError(t, err)

	snapshot := func(tenant eusaas.TenantID) (sessions, invitations []string) {
		require.NoError(t, db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
			for _, q := range []struct {
				sql string
				out *[]string
			}{
				{`SELECT created_at::text || ' ' || ip || ' ' || user_agent FROM auth_sessions ORDER BY created_at`, &sessions},
				{`SELECT created_at::text || ' ' || email FROM auth_invitations ORDER BY created_at`, &invitations},
			} {
				rows, err := tx.Query(ctx, q.sql)
				if err != nil {
					return err
				}
				*q.out, err = pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					return err
				}
			}
			return nil
		}))
		return sessions, invitations
	}
	heldSessions, heldInvitations := snapshot(held)

	require.NoError(t, svc.EnforceRetention(ctx))
	counts, err := svc.EnforceTenantRetention(ctx, free)
	require.NoError(t, err)
	require.Empty(t, counts, "the first run did it all (idempotent)")
	sessions, invitations := snapshot(free)
	require.Len(t, sessions, 2, "sessions are kept")
	require.Regexp(t, `^\S+ \S+  $`, sessions[0], "the old session lost its IP and user agent")
	require.Contains(t, sessions[1], "203.0.113.7 Firefox")
	require.Len(t, invitations, 1)
	require.Contains(t, invitations[0], "p1@example.eu", "only the recent invitation is left")
	var audited, paused map[string]any
	for _, ev := range rec.Events {
		switch {
		case ev.Action != gdpr.ActionRetentionExecuted:
		case ev.TenantID == free && ev.Changes["auth_sessions.personal_erased"] != nil:
			audited = ev.Changes
		case ev.TenantID == held:
			paused = ev.Changes
		}
	}
	require.Equal(t, 1, audited["auth_sessions.personal_erased"])
	require.Equal(t, 1, audited["auth_invitations.hard_deleted"])

	s, i := snapshot(held)
	require.Equal(t, heldSessions, s, "the held tenant's sessions are untouched")
	require.Equal(t, heldInvitations, i, "the held tenant's invitations are untouched")
	require.Equal(t, map[string]any{"paused_by_legal_hold": hold.ID}, paused)
}
