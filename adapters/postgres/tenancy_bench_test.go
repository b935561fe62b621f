package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/adapters/redis"
	"github.com/eusaas/eusaas/internal/redistest"
	"github.com/eusaas/eusaas/tenancy"
)

// The benchmarks interleave the measured path and its baseline in every iteration and report
// both per-op times and their ratio, so the figures compare like with like on a shared machine.
//
//	go test ./adapters/postgres/ -run '^$' -bench Tenancy -benchtime 1x    (1,000-schema ones)
//	go test ./adapters/postgres/ -run '^$' -bench 'TenancyProvision|TenancyGet' -benchtime 200x

func tenancyReport(b *testing.B, name string, d time.Duration) {
	b.ReportMetric(float64(d.Microseconds())/float64(b.N)/1000, name+"-ms/op")
}

// Provisioning a tenant (service: registry row, transitions, schema + migrations + version
// record) and the schema alone, against the same DDL sent straight through pgx.
func BenchmarkTenancyProvision(b *testing.B) {
	ctx := context.Background()
	db := tenancyDB(b)
	migs, err := postgres.TenantMigrations()
	require.NoError(b, err)
	schemas, err := postgres.NewTenantSchemas(db, migs)
	require.NoError(b, err)
	svc, err := tenancy.NewService(tenancy.Deps{Store: postgres.NewTenantStore(db), Provisioner: schemas, Tx: db}, tenancy.Options{})
	require.NoError(b, err)
	var raw, schema, service time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := eusaas.NewTenantID()
		t0 := time.Now()
		tx, err := db.Pool.Begin(ctx)
		require.NoError(b, err)
		_, err = tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{id.SchemaName()}.Sanitize())
		require.NoError(b, err)
		_, err = tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", id.SchemaName())
		require.NoError(b, err)
		for _, m := range migs {
			_, err = tx.Exec(ctx, m.SQL)
			require.NoError(b, err)
		}
		require.NoError(b, tx.Commit(ctx))
		t1 := time.Now()
		require.NoError(b, schemas.Create(ctx, eusaas.NewTenantID()))
		t2 := time.Now()
		_, err = svc.Create(ctx, tenancy.CreateInput{Name: "Bench", Slug: fmt.Sprintf("bench-%d", i), AdminEmail: "owner@bench.example"})
		require.NoError(b, err)
		t3 := time.Now()
		raw, schema, service = raw+t1.Sub(t0), schema+t2.Sub(t1), service+t3.Sub(t2)
	}
	b.StopTimer()
	tenancyReport(b, "raw_ddl", raw)
	tenancyReport(b, "schema_create", schema)
	tenancyReport(b, "service_create", service)
	b.ReportMetric(float64(schema)/float64(raw), "schema/raw")
	b.ReportMetric(float64(service)/float64(raw), "service/raw")
}

// tenancyManySchemas creates n tenant schemas with every migration of migs applied, quickly:
// one transaction per 100 schemas.
func tenancyManySchemas(b *testing.B, db *postgres.DB, schemas *postgres.TenantSchemas, n int) {
	ctx := context.Background()
	for done := 0; done < n; {
		batch := min(100, n-done)
		require.NoError(b, db.InTx(ctx, func(ctx context.Context) error {
			for range batch {
				if err := schemas.Create(ctx, eusaas.NewTenantID()); err != nil {
					return err
				}
			}
			return nil
		}))
		done += batch
	}
}

// Applying one new migration to 1,000 tenant schemas, with concurrency 1 and 4, and a run
// with nothing to do. Each iteration adds another new migration, so every iteration migrates
// all 1,000 schemas.
func BenchmarkTenancyMigrateTenants1000(b *testing.B) {
	ctx := context.Background()
	db := tenancyDB(b)
	// A one-table base keeps the setup of 1,000 schemas short; what is measured is applying
	// one more migration, which does not depend on what the schemas already hold.
	base := []postgres.TenantMigration{{Version: 1, Name: "base", SQL: "CREATE TABLE tenant_info (key text PRIMARY KEY, value text NOT NULL)"}}
	s0, err := postgres.NewTenantSchemas(db, base)
	require.NoError(b, err)
	const n = 1000
	tenancyManySchemas(b, db, s0, n)
	next := 5000
	// Baseline: the same kind of DDL sent straight through pgx, one transaction per schema,
	// one schema after the other, with no lock, version check or record.
	b.Run("raw_ddl/concurrency=1", func(b *testing.B) {
		rows, err := db.Pool.Query(ctx, "SELECT schema_name FROM eusaas.tenant_schemas")
		require.NoError(b, err)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(b, err)
		require.Len(b, names, n)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			next++
			for _, schema := range names {
				tx, err := db.Pool.Begin(ctx)
				require.NoError(b, err)
				_, err = tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", schema)
				require.NoError(b, err)
				_, err = tx.Exec(ctx, fmt.Sprintf("CREATE TABLE raw_%d (id bigint PRIMARY KEY, note text)", next))
				require.NoError(b, err)
				require.NoError(b, tx.Commit(ctx))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "total-ms/run")
	})
	for _, conc := range []int{1, 4} {
		b.Run(fmt.Sprintf("new_migration/concurrency=%d", conc), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				next++
				base = append(base, postgres.TenantMigration{Version: next, Name: "bench", SQL: fmt.Sprintf("CREATE TABLE bench_%d (id bigint PRIMARY KEY, note text)", next)})
				s, err := postgres.NewTenantSchemas(db, base)
				require.NoError(b, err)
				b.StartTimer()
				res, err := s.Run(ctx, conc, nil)
				require.NoError(b, err)
				require.Equal(b, n, res.Migrated)
				require.Empty(b, res.Failed)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "total-ms/run")
		})
	}
	b.Run("noop", func(b *testing.B) {
		s, err := postgres.NewTenantSchemas(db, base)
		require.NoError(b, err)
		for i := 0; i < b.N; i++ {
			res, err := s.Run(ctx, 4, nil)
			require.NoError(b, err)
			require.Zero(b, res.Lagging)
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "total-ms/run")
	})
}

// A no-op run over 10,000 schemas: the one catalog query. The schemas are empty (their tables
// do not matter to the query) and recorded as fully migrated, made in bulk by SQL.
func BenchmarkTenancyMigrateNoop10000(b *testing.B) {
	ctx := context.Background()
	db := tenancyDB(b)
	migs, err := postgres.TenantMigrations()
	require.NoError(b, err)
	s, err := postgres.NewTenantSchemas(db, migs)
	require.NoError(b, err)
	var versions []int32
	for _, m := range migs {
		versions = append(versions, int32(m.Version))
	}
	for k := 0; k < 10; k++ {
		_, err := db.Pool.Exec(ctx, `DO $$
			DECLARE id uuid;
			BEGIN
			  FOR i IN 1..1000 LOOP
			    id := gen_random_uuid();
			    EXECUTE format('CREATE SCHEMA %I', 't_' || replace(id::text, '-', ''));
			    INSERT INTO eusaas.tenant_schemas (tenant_id, schema_name, version, applied, state)
			    VALUES (id, 't_' || replace(id::text, '-', ''), 0, '{}', 'ready');
			  END LOOP;
			END $$`)
		require.NoError(b, err)
	}
	_, err = db.Pool.Exec(ctx, "UPDATE eusaas.tenant_schemas SET applied = $1, version = $2", versions, versions[len(versions)-1])
	require.NoError(b, err)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := s.Run(ctx, 4, nil)
		require.NoError(b, err)
		require.Zero(b, res.Lagging)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "total-ms/run")
}

// GET of a tenant through the service: Redis cache hit against the Postgres store.
func BenchmarkTenancyGet(b *testing.B) {
	ctx := context.Background()
	db := tenancyDB(b)
	schemas, err := postgres.EmbeddedTenantSchemas(db)
	require.NoError(b, err)
	store := postgres.NewTenantStore(db)
	rc, prefix := redistest.Client(b)
	plain, err := tenancy.NewService(tenancy.Deps{Store: store, Provisioner: schemas, Tx: db}, tenancy.Options{})
	require.NoError(b, err)
	cached, err := tenancy.NewService(tenancy.Deps{Store: store, Provisioner: schemas, Tx: db,
		Cache: redis.NewTenantCache(rc, redis.TenantCacheOptions{Prefix: prefix})}, tenancy.Options{})
	require.NoError(b, err)
	res, err := plain.Create(ctx, tenancy.CreateInput{Name: "Bench", Slug: "bench", AdminEmail: "owner@bench.example"})
	require.NoError(b, err)
	id := res.Tenant.ID
	_, err = cached.Get(ctx, id) // warm the cache
	require.NoError(b, err)
	var pg, rd time.Duration
	b.ResetTimer()
	timed := func(svc *tenancy.Service) time.Duration {
		t0 := time.Now()
		_, err := svc.Get(ctx, id)
		require.NoError(b, err)
		return time.Since(t0)
	}
	for i := 0; i < b.N; i++ {
		// Alternate which goes first so neither always runs on a warmer scheduler slot.
		if i%2 == 0 {
			pg += timed(plain)
			rd += timed(cached)
		} else {
			rd += timed(cached)
			pg += timed(plain)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(pg.Nanoseconds())/float64(b.N)/1000, "postgres-us/op")
	b.ReportMetric(float64(rd.Nanoseconds())/float64(b.N)/1000, "redis-us/op")
	b.ReportMetric(float64(rd)/float64(pg), "redis/postgres")
}
