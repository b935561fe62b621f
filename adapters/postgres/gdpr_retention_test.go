package postgres_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
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
// tenant's rows are all still there, byte for byte, and so is the session of a user under an
// Art. 18 restriction.
func TestGDPRRetentionPIIAndHolds(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	free, held := eusaas.NewTenantID(), eusaas.NewTenantID()
	now := time.Now().UTC().Truncate(time.Microsecond)
	grace := 30 * 24 * time.Hour
	old, recent := now.AddDate(0, 0, -8).Add(-grace), now.AddDate(0, 0, -1)
	restricted := uuid.NewString()
	for _, tenant := range []eusaas.TenantID{free, held} {
		require.NoError(t, db.CreateTenantSchema(ctx, tenant))
		require.NoError(t, db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
			// The restricted user's old session (Art. 18): kept with its values.
			if _, err := tx.Exec(ctx, `INSERT INTO auth_sessions (id, user_id, counter, token_hash, created_at, rotated_at, expires_at, ip, user_agent)
				VALUES (gen_random_uuid(), $1, 0, '\x00', $2, $2, $3, '198.51.100.9', 'Restricted/1')`, restricted, old, now.AddDate(1, 0, 0)); err != nil {
				return err
			}
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
		Data: data, Queue: &gdprtest.Queue{}, Recorder: rec, DSRs: store, Tenants: pgTenants{free, held}, Retainers: []gdpr.Retainer{data}},
		gdpr.Options{SigningKey: key, Clock: eusaas.NewFakeClock(now), RetentionGrace: grace})
	require.NoError(t, err)
	for _, tenant := range []eusaas.TenantID{free, held} {
		_, err := svc.SetRetentionPolicy(ctx, gdpr.Policy{TenantID: tenant, DefaultRetentionDays: 3650, AuditLogRetentionDays: 3650,
			BackupRetentionDays: 30, PIIRetentionDays: 7})
		require.NoError(t, err)
	}
	hold, err := svc.PlaceHold(ctx, held, "litigation")
	require.NoError(t, err)
	d, err := svc.CreateDSR(ctx, free, gdpr.DSRInput{Type: gdpr.DSRRestriction, SubjectID: restricted})
	require.NoError(t, err)
	d, err = svc.VerifyIdentity(ctx, free, d.ID, "", "signed-in account")
	require.NoError(t, err)
	require.Equal(t, gdpr.DSRCompleted, d.Status)

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
	require.Len(t, sessions, 3, "sessions are kept")
	var cleared, kept int
	for _, x := range sessions {
		switch {
		case strings.HasSuffix(x, "  "):
			cleared++
		case strings.Contains(x, "198.51.100.9 Restricted/1"), strings.Contains(x, "203.0.113.7 Firefox"):
			kept++
		}
	}
	require.Equal(t, 1, cleared, "the old session lost its IP and user agent: %v", sessions)
	require.Equal(t, 2, kept, "the recent one and the restricted user's keep theirs: %v", sessions)
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

// The generic retention keeps the rows of a subject under an Art. 18 restriction: neither
// soft- nor hard-deleted while the others past the period go.
func TestGDPRDataRetentionKeepsRestrictedSubjects(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	a := eusaas.NewTenantID()
	gdprSeed(t, db, a, 3, 0)
	require.NoError(t, db.InTenantTx(ctx, a, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE users SET created_at = now() - interval '400 days'")
		return err
	}))
	data := postgres.NewGDPRData(db)
	p := gdpr.DefaultPolicy(a)
	p.PIIRetentionDays = 365
	p.Restricted = []string{"00000000-0000-4000-8000-000000000002"}
	now := time.Now()
	counts, err := data.EnforceRetention(ctx, a, p, now, time.Hour)
	require.NoError(t, err)
	require.Equal(t, 2, counts["users.soft_deleted"])
	counts, err = data.EnforceRetention(ctx, a, p, now.Add(2*time.Hour), time.Hour)
	require.NoError(t, err)
	require.Equal(t, 2, counts["users.hard_deleted"])
	var left []string
	require.NoError(t, db.InTenantTx(ctx, a, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT email || ' ' || (deleted_at IS NULL)::text FROM users")
		if err != nil {
			return err
		}
		left, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}))
	require.Equal(t, []string{"user2@example.eu true"}, left)
}
