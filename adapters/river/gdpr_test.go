package river_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/archive"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/adapters/river"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/jobs"
)

// TestGDPROnRiver runs exports and a tenant erasure on River over Postgres: the request and
// its job commit or roll back together, and River's workers carry the work to the end.
func TestGDPROnRiver(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	db := postgres.New(pool)
	require.NoError(t, db.MigratePlatform(ctx))
	require.NoError(t, river.Migrate(ctx, pool, ""))
	tenant := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tenant))
	require.NoError(t, db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE users (id text PRIMARY KEY, email text)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO users SELECT 'u' || g, 'u' || g || '@example.eu' FROM generate_series(1, 500) g`)
		return err
	}))

	store, err := postgres.NewGDPRStore(db, nil)
	require.NoError(t, err)
	dir := t.TempDir()
	arch, err := archive.NewFS(dir)
	require.NoError(t, err)
	data := postgres.NewGDPRData(db)
	reg := jobs.NewRegistry()
	q := river.New(pool, reg, river.Options{FetchPollInterval: 200 * time.Millisecond})
	_, key, _ := ed25519.GenerateKey(nil)
	life, rec := gdprtest.NewLifecycle(tenant), &gdprtest.Recorder{}
	svc, err := gdpr.NewService(gdpr.Deps{Tx: db, Requests: store, Policies: store, Holds: store, Keys: store, Archives: arch, Data: data, Subjects: data, Schemas: data,
		Queue: q, Recorder: rec, Lifecycle: life, Cache: gdprtest.NewCache(tenant)}, gdpr.Options{SigningKey: key})
	require.NoError(t, err)
	svc.RegisterJobs(reg) // after handing q to the service: the River client is built on first use

	// A request made inside a transaction that rolls back leaves neither record nor job.
	var ghost gdpr.Request
	boom := errors.New("rollback")
	err = db.InTx(ctx, func(ctx context.Context) error {
		var err error
		ghost, err = svc.RequestExport(ctx, tenant, gdpr.ExportRequest{Format: gdpr.FormatXML})
		require.NoError(t, err)
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = svc.Request(ctx, tenant, gdpr.KindExport, ghost.ID)
	require.ErrorIs(t, err, gdpr.ErrNotFound)
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM eusaas.river_job`).Scan(&n))
	require.Equal(t, 0, n)

	r, err := svc.RequestExport(ctx, tenant, gdpr.ExportRequest{Format: gdpr.FormatCSV, Subjects: []string{"u7"}})
	require.NoError(t, err)
	require.NoError(t, q.Start(ctx))
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	require.Eventually(t, func() bool {
		r, err = svc.Request(ctx, tenant, gdpr.KindExport, r.ID)
		return err == nil && r.Status == gdpr.StatusCompleted
	}, 30*time.Second, 100*time.Millisecond)
	require.Equal(t, 1, r.Counts["users"])
	for table, n := range r.Counts { // the modules' own (empty) tables are exported too
		require.True(t, table == "users" || n == 0, "table %s: %d rows", table, n)
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(r.Archive)))
	require.NoError(t, err)
	defer f.Close()
	st, _ := f.Stat()
	_, err = gdpr.VerifyArchive(f, st.Size(), svc.PublicKey())
	require.NoError(t, err)

	require.NoError(t, svc.Deprovision(ctx, tenant))
	require.Eventually(t, func() bool { return life.Get(tenant) == "DELETED" }, 30*time.Second, 100*time.Millisecond)
	require.Equal(t, 1, rec.Count(tenant, gdpr.ActionTenantErasureCompleted))
	var exists bool
	require.NoError(t, pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", tenant.SchemaName()).Scan(&exists))
	require.False(t, exists)
}
