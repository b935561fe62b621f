package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/eusaas/eusaas"
)

// Citus (12+) schema-based sharding distributes each tenant schema whole to one worker
// node while the platform schema stays on the coordinator. Everything Citus-specific in
// this package switches on the presence of the citus extension in the connected
// database, so vanilla PostgreSQL runs exactly as before. See docs/scale-out.md.

// citusInstalled reports whether the citus extension is installed in the database.
func citusInstalled(ctx context.Context, q querier) (bool, error) {
	var on bool
	err := q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus')").Scan(&on)
	return on, translate(err)
}

// CitusInstalled reports whether the citus extension is installed in the database.
func (db *DB) CitusInstalled(ctx context.Context) (bool, error) {
	return citusInstalled(ctx, db.q(ctx))
}

// CreateLocalSchema creates schema if it does not exist, never as a Citus distributed
// schema: with citus.enable_schema_based_sharding on, CREATE SCHEMA would distribute it,
// and the platform schema (the tenant registry, the audit log, the job queue) must stay on
// the coordinator, where its multi-statement migrations and cross-tenant queries run.
//
// It runs in a transaction of its own, never the context's: SET LOCAL there would also keep
// a tenant schema created later in that transaction from being distributed.
func (db *DB) CreateLocalSchema(ctx context.Context, schema string) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		on, err := citusInstalled(ctx, tx)
		if err != nil {
			return err
		}
		if on {
			if _, err := tx.Exec(ctx, "SET LOCAL citus.enable_schema_based_sharding = off"); err != nil {
				return translate(err)
			}
		}
		_, err = tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
		return translate(err)
	})
}

// citusDistributedSchema reports whether schema is a Citus distributed schema (listed in
// pg_dist_schema, Citus 12+). False without Citus or on a Citus without schema sharding.
func citusDistributedSchema(ctx context.Context, q querier, schema string) (bool, error) {
	var has bool
	if err := q.QueryRow(ctx, "SELECT to_regclass('pg_catalog.pg_dist_schema') IS NOT NULL").Scan(&has); err != nil || !has {
		return false, translate(err)
	}
	var dist bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_schema d
		JOIN pg_catalog.pg_namespace n ON n.oid = d.schemaid WHERE n.nspname = $1)`, schema).Scan(&dist)
	return dist, translate(err)
}

// checkPlatformLocal fails when the platform schema was made a distributed schema (it was
// created while citus.enable_schema_based_sharding was on, before eusaas created it).
func (db *DB) checkPlatformLocal(ctx context.Context) error {
	on, err := citusInstalled(ctx, db.Pool)
	if err != nil || !on {
		return err
	}
	dist, err := citusDistributedSchema(ctx, db.Pool, PlatformSchema)
	if err != nil || !dist {
		return err
	}
	return eusaas.Errorf(eusaas.FailedPrecondition,
		"postgres: the platform schema %s is a Citus distributed schema; it must stay on the coordinator: run SELECT citus_schema_undistribute('%s') and migrate again (docs/scale-out.md)",
		PlatformSchema, PlatformSchema)
}
