package postgres_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/tenancy"
	"github.com/eusaas/eusaas/tenancy/tenancytest"
)

func tenancyDB(t testing.TB) *postgres.DB {
	t.Helper()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(context.Background()))
	return db
}

func TestConformanceTenantStore(t *testing.T) {
	t.Parallel()
	// One database for the whole suite keeps it fast; each subtest's store still starts
	// empty because the table is emptied first.
	db := tenancyDB(t)
	tenancytest.Run(t, tenancytest.Harness{
		NewStore: func(t *testing.T) (tenancy.Store, eusaas.TxRunner) {
			_, err := db.Pool.Exec(context.Background(), "TRUNCATE eusaas.tenants")
			require.NoError(t, err)
			return postgres.NewTenantStore(db), db
		},
		Features: tenancytest.Features{Transactions: true},
	})
}

func tenancySchemaExists(t *testing.T, db *postgres.DB, schema string) bool {
	t.Helper()
	var n int
	require.NoError(t, db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n))
	return n == 1
}

func tenancyTables(t *testing.T, db *postgres.DB, schema string) []string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", schema)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

// The service over the Postgres adapters: after Create the schema t_<hex> exists with the
// tenant tables and its version record; after Deprovision it is gone and the registry keeps
// a DELETED tombstone.
func TestTenancyServicePostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := tenancyDB(t)
	schemas, err := postgres.EmbeddedTenantSchemas(db)
	require.NoError(t, err)
	svc, err := tenancy.NewService(tenancy.Deps{Store: postgres.NewTenantStore(db), Provisioner: schemas, Tx: db}, tenancy.Options{})
	require.NoError(t, err)
	res, err := svc.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "owner@acme.example"})
	require.NoError(t, err)
	tn := res.Tenant
	require.Equal(t, tenancy.StatusActive, tn.Status)
	require.True(t, tenancySchemaExists(t, db, tn.SchemaName))
	require.Equal(t, "t_"+tn.ID.Hex(), tn.SchemaName)
	require.Contains(t, tenancyTables(t, db, tn.SchemaName), "tenant_info")
	st, err := schemas.State(ctx, tn.ID)
	require.NoError(t, err)
	require.Equal(t, "ready", st.State)
	migs, err := postgres.TenantMigrations()
	require.NoError(t, err)
	require.Equal(t, migs[len(migs)-1].Version, st.Version)

	_, err = svc.Create(ctx, tenancy.CreateInput{Name: "Again", Slug: "acme", AdminEmail: "x@acme.example"})
	require.ErrorIs(t, err, tenancy.ErrSlugTaken)

	got, err := svc.Deprovision(ctx, tn.ID)
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusDeleted, got.Status)
	require.False(t, tenancySchemaExists(t, db, tn.SchemaName))
	_, err = schemas.State(ctx, tn.ID)
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(err), "version record dropped with the schema")
	got, err = svc.Get(ctx, tn.ID)
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusDeleted, got.Status)
	require.Empty(t, got.AdminEmail)
	require.NotNil(t, got.DeletedAt)
}

// A migration that fails during provisioning leaves no schema, no version record, and the
// tenant DELETED with the reason.
func TestTenancyProvisioningFailurePostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := tenancyDB(t)
	schemas, err := postgres.NewTenantSchemas(db, []postgres.TenantMigration{
		{Version: 1, Name: "ok", SQL: "CREATE TABLE a (id int)"},
		{Version: 2, Name: "broken", SQL: "CREATE TABLE b (id int REFERENCES nowhere(id))"},
	})
	require.NoError(t, err)
	svc, err := tenancy.NewService(tenancy.Deps{Store: postgres.NewTenantStore(db), Provisioner: schemas, Tx: db}, tenancy.Options{})
	require.NoError(t, err)
	_, err = svc.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "owner@acme.example"})
	require.ErrorIs(t, err, tenancy.ErrProvisioningFailed)
	l, err := svc.List(ctx, tenancy.ListFilter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Len(t, l.Items, 1)
	tn := l.Items[0]
	require.Equal(t, tenancy.StatusDeleted, tn.Status)
	require.Contains(t, tn.StatusReason, "schema creation failed")
	require.False(t, tenancySchemaExists(t, db, tn.SchemaName), "no half-made schema")
	var n int
	require.NoError(t, db.Pool.QueryRow(ctx, "SELECT count(*) FROM eusaas.tenant_schemas").Scan(&n))
	require.Zero(t, n)
}

func tenancyMigs(n int) []postgres.TenantMigration {
	var out []postgres.TenantMigration
	for v := 1; v <= n; v++ {
		out = append(out, postgres.TenantMigration{Version: v, Name: fmt.Sprint("m", v),
			SQL: fmt.Sprintf("CREATE TABLE m%d (id int PRIMARY KEY); INSERT INTO m%d VALUES (%d)", v, v, v)})
	}
	return out
}

func TestTenantMigrationRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := tenancyDB(t)
	v1, err := postgres.NewTenantSchemas(db, tenancyMigs(2))
	require.NoError(t, err)
	var ids []eusaas.TenantID
	for range 6 {
		id := eusaas.NewTenantID()
		require.NoError(t, v1.Create(ctx, id))
		ids = append(ids, id)
	}
	res, err := v1.Run(ctx, 4, nil)
	require.NoError(t, err)
	require.Equal(t, 0, res.Lagging, "nothing to do")

	// Version 3 is new; version 10 arrives "out of order" later from another module's range.
	migs := tenancyMigs(3)
	bad := ids[2]
	// A migration that fails for one schema only: it finds a row only that schema has.
	require.NoError(t, db.InTenantTx(ctx, bad, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "CREATE TABLE m3 (id int)")
		return err
	}))
	v3, err := postgres.NewTenantSchemas(db, migs)
	require.NoError(t, err)
	var progress []postgres.SchemaResult
	res, err = v3.Run(ctx, 3, func(r postgres.SchemaResult) { progress = append(progress, r) })
	require.NoError(t, err)
	require.Equal(t, 6, res.Lagging)
	require.Equal(t, 5, res.Migrated)
	require.Len(t, res.Failed, 1)
	require.Equal(t, bad.SchemaName(), res.Failed[0].Schema)
	require.Len(t, progress, 6)
	require.Equal(t, 6, progress[5].Done)
	require.Equal(t, 6, progress[5].Total)
	st, err := v3.State(ctx, bad)
	require.NoError(t, err)
	require.Equal(t, "failed", st.State)
	require.Equal(t, 2, st.Version)
	require.Contains(t, st.LastError, "0003_m3")
	for _, id := range ids {
		if id == bad {
			continue
		}
		st, err := v3.State(ctx, id)
		require.NoError(t, err)
		require.Equal(t, "ready", st.State)
		require.Equal(t, []int{1, 2, 3}, st.Applied)
		var n int
		require.NoError(t, db.InTenantTx(ctx, id, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT id FROM m3").Scan(&n)
		}))
		require.Equal(t, 3, n)
	}
	// Fix the bad schema and rerun: only it is lagging, and it resumes.
	require.NoError(t, db.InTenantTx(ctx, bad, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DROP TABLE m3")
		return err
	}))
	lag, err := v3.Lagging(ctx)
	require.NoError(t, err)
	require.Len(t, lag, 1)
	res, err = v3.Run(ctx, 3, nil)
	require.NoError(t, err)
	require.Equal(t, 1, res.Migrated)
	require.Empty(t, res.Failed)

	// An out-of-order version (10 merged after 3 is everywhere) is still found and applied.
	v10, err := postgres.NewTenantSchemas(db, append(tenancyMigs(3), postgres.TenantMigration{Version: 10, Name: "late", SQL: "CREATE TABLE late (id int)"}, postgres.TenantMigration{Version: 5, Name: "mid", SQL: "CREATE TABLE mid (id int)"}))
	require.NoError(t, err)
	res, err = v10.Run(ctx, 2, nil)
	require.NoError(t, err)
	require.Equal(t, 6, res.Migrated)
	st, err = v10.State(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, []int{1, 2, 3, 5, 10}, st.Applied)
	require.Equal(t, 10, st.Version)
	res, err = v10.Run(ctx, 2, nil)
	require.NoError(t, err)
	require.Zero(t, res.Lagging)

	// A schema named like a tenant's but without a record is reported, not migrated.
	stray := eusaas.NewTenantID().SchemaName()
	_, err = db.Pool.Exec(ctx, "CREATE SCHEMA "+stray)
	require.NoError(t, err)
	res, err = v10.Run(ctx, 2, nil)
	require.NoError(t, err)
	require.Len(t, res.Failed, 1)
	require.ErrorIs(t, res.Failed[0].Err, postgres.ErrUntrackedSchema)
	require.Empty(t, tenancyTables(t, db, stray))
}

// Two runners at once never apply a version twice (the per-schema advisory lock and the
// re-read under it); a migration that is not idempotent would fail if they did.
func TestTenantMigrationConcurrentRunners(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := tenancyDB(t)
	v1, err := postgres.NewTenantSchemas(db, tenancyMigs(1))
	require.NoError(t, err)
	for range 8 {
		require.NoError(t, v1.Create(ctx, eusaas.NewTenantID()))
	}
	v3, err := postgres.NewTenantSchemas(db, tenancyMigs(3))
	require.NoError(t, err)
	errs := make(chan error, 2)
	results := make(chan postgres.RunResult, 2)
	for range 2 {
		go func() {
			r, err := v3.Run(ctx, 2, nil)
			results <- r
			errs <- err
		}()
	}
	migrated := 0
	for range 2 {
		require.NoError(t, <-errs)
		r := <-results
		require.Empty(t, r.Failed)
		migrated += r.Migrated
	}
	require.GreaterOrEqual(t, migrated, 8)
	lag, err := v3.Lagging(ctx)
	require.NoError(t, err)
	require.Empty(t, lag)
}

func TestTenantSchemaCreateIsIdempotentAndAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := tenancyDB(t)
	id := eusaas.NewTenantID()
	v2, err := postgres.NewTenantSchemas(db, tenancyMigs(2))
	require.NoError(t, err)
	require.NoError(t, v2.Create(ctx, id))
	v3, err := postgres.NewTenantSchemas(db, tenancyMigs(3))
	require.NoError(t, err)
	require.NoError(t, v3.Create(ctx, id), "creating an existing schema applies what is missing")
	st, err := v3.State(ctx, id)
	require.NoError(t, err)
	require.Equal(t, []int{1, 2, 3}, st.Applied)
	require.NoError(t, v3.Migrate(ctx, id), "no-op")
	require.Equal(t, eusaas.NotFound, eusaas.KindOf(v3.Migrate(ctx, eusaas.NewTenantID())))

	// Creation inside a transaction that rolls back leaves nothing.
	other := eusaas.NewTenantID()
	err = db.InTx(ctx, func(ctx context.Context) error {
		require.NoError(t, v3.Create(ctx, other))
		return fmt.Errorf("boom")
	})
	require.Error(t, err)
	require.False(t, tenancySchemaExists(t, db, other.SchemaName()))
	require.NoError(t, v3.Drop(ctx, other), "dropping a missing schema is fine")
	require.True(t, strings.HasPrefix(other.SchemaName(), "t_"))
}

// The whole provisioning path with the real owner-invitation issuer (auth on Postgres): the
// new schema has every module's tenant tables and the owner invitation lives in it; after
// deprovisioning the schema is gone and the registry shows DELETED.
func TestTenancyWithAuthPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := tenancyDB(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keys, err := auth.NewKeySet(key, eusaas.SystemClock)
	require.NoError(t, err)
	hasher, err := auth.NewHasher(auth.OWASPParams, auth.HasherOptions{})
	require.NoError(t, err)
	as := postgres.NewAuthStore(db)
	schemas, err := postgres.EmbeddedTenantSchemas(db)
	require.NoError(t, err)
	var authSvc *auth.Service
	svc, err := tenancy.NewService(tenancy.Deps{Store: postgres.NewTenantStore(db), Provisioner: schemas, Tx: db,
		Invitations: tenancyIssuer(func(ctx context.Context, id eusaas.TenantID, email string) (string, time.Time, error) {
			return authSvc.IssueOwnerInvitation(ctx, id, email)
		})}, tenancy.Options{})
	require.NoError(t, err)
	authSvc, err = auth.NewService(auth.Deps{Keys: keys, Hasher: hasher, Tx: db, Clock: eusaas.SystemClock, Recorder: eusaas.Discard,
		Tenants: tenancyResolver(func(ctx context.Context, idOrSlug string) (auth.TenantInfo, error) {
			t, err := svc.Resolve(ctx, idOrSlug)
			return auth.TenantInfo{ID: t.ID, Status: string(t.Status), AllowSelfRegistration: t.Settings.AllowSelfRegistration}, err
		}),
		Users: as, Operators: as, Sessions: as, Invitations: as,
		Denylist: memauth.NewDenylist(eusaas.SystemClock), Limiter: memauth.NewLimiter()},
		auth.Config{Issuer: "test", AccessTTL: 15 * time.Minute, RefreshTTL: 7 * 24 * time.Hour})
	require.NoError(t, err)

	res, err := svc.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "owner@acme.example"})
	require.NoError(t, err)
	require.NotEmpty(t, res.Invitation.Token)
	tables := tenancyTables(t, db, res.Tenant.SchemaName)
	for _, want := range []string{"tenant_info", "auth_users", "auth_sessions", "auth_invitations"} {
		require.Contains(t, tables, want)
	}
	var n int
	require.NoError(t, db.InTenantTx(ctx, res.Tenant.ID, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM auth_invitations").Scan(&n)
	}))
	require.Equal(t, 1, n, "the owner invitation is in the tenant's schema")

	got, err := svc.Deprovision(ctx, res.Tenant.ID)
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusDeleted, got.Status)
	require.False(t, tenancySchemaExists(t, db, res.Tenant.SchemaName))
	got, err = svc.Get(ctx, res.Tenant.ID)
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusDeleted, got.Status)
}

type tenancyIssuer func(ctx context.Context, id eusaas.TenantID, email string) (string, time.Time, error)

func (f tenancyIssuer) IssueOwnerInvitation(ctx context.Context, id eusaas.TenantID, email string) (string, time.Time, error) {
	return f(ctx, id, email)
}

type tenancyResolver func(ctx context.Context, idOrSlug string) (auth.TenantInfo, error)

func (f tenancyResolver) Resolve(ctx context.Context, idOrSlug string) (auth.TenantInfo, error) {
	return f(ctx, idOrSlug)
}
