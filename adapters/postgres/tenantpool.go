package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/eusaas/eusaas"
)

// A pool of spare tenant schemas (issue 19). Creating a tenant schema runs every tenant
// migration: dozens of DDL statements costing 50–140 ms of Postgres CPU, which on a small
// machine is what every other request's tail latency waits for when tenants are created in
// bursts. A spare schema is made the same way ahead of time (FillPool, run by the server in
// the background with one schema at a time) and is named p_<random>; Create takes one with
// FOR UPDATE SKIP LOCKED, renames it to the tenant's name and records its version row in
// the same transaction. The work is not removed, it is moved to when nobody waits for it.
//
// What a rename must fix: functions created with SET search_path FROM CURRENT captured the
// spare's name as a literal (0100_function_search_path), so their search_path is reset to
// the tenant's schema; everything else (tables, sequences, triggers, constraints) refers to
// its schema by OID and follows the rename. A spare made before an upgrade lacks the newer
// migrations; they are applied after the rename exactly as for any lagging schema. On Citus
// spares are not used: a distributed schema is placed on a node when it is created, and the
// node must be chosen for the tenant's region.

// poolSchemaPrefix names spare schemas; they never match a tenant schema's ^t_[0-9a-f]{32}$.
const poolSchemaPrefix = "p_"

// FillPool creates spare schemas until the pool holds size of them or ctx ends, one schema
// per transaction. It returns how many it created. On Citus it creates none. Replicas may
// run it at once: each spare is made under one advisory lock after counting the pool, so the
// pool never grows past size.
func (s *TenantSchemas) FillPool(ctx context.Context, size int) (int, error) {
	if err := s.ensurePlatform(ctx); err != nil {
		return 0, err
	}
	if on, err := citusInstalled(ctx, s.db.Pool); err != nil || on {
		return 0, err
	}
	made := 0
	for ctx.Err() == nil {
		ok, err := s.createSpare(ctx, size)
		if err != nil || !ok {
			return made, err
		}
		made++
	}
	return made, ctx.Err()
}

// AddSpare creates one spare schema unless the pool already holds size (made false). It is
// FillPool one step at a time, for a filler that paces itself between steps.
func (s *TenantSchemas) AddSpare(ctx context.Context, size int) (made bool, err error) {
	if err := s.ensurePlatform(ctx); err != nil {
		return false, err
	}
	if on, err := citusInstalled(ctx, s.db.Pool); err != nil || on {
		return false, err
	}
	return s.createSpare(ctx, size)
}

// PoolSize is the number of spare schemas.
func (s *TenantSchemas) PoolSize(ctx context.Context) (int, error) {
	if err := s.ensurePlatform(ctx); err != nil {
		return 0, err
	}
	var n int
	err := s.db.q(ctx).QueryRow(ctx, "SELECT count(*) FROM eusaas.tenant_schema_pool").Scan(&n)
	return n, translate(err)
}

// poolLockKey is the second key of the pool's advisory lock (the first is tenancyLockClass;
// tenant schemas use hashtext of their name, which a constant this size does not collide with
// in practice, and a collision would only serialise two creations).
const poolLockKey = 0x7e5a_0001

// createSpare makes one spare schema when the pool holds fewer than size; made is false when
// it is full.
func (s *TenantSchemas) createSpare(ctx context.Context, size int) (made bool, err error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return false, err
	}
	schema := poolSchemaPrefix + hex.EncodeToString(b[:])
	err = s.db.InTx(ctx, func(ctx context.Context) error {
		tx, _ := Tx(ctx)
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", tenancyLockClass, poolLockKey); err != nil {
			return translate(err)
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM eusaas.tenant_schema_pool").Scan(&n); err != nil {
			return translate(err)
		}
		if n >= size {
			return nil
		}
		made = true
		ident := pgx.Identifier{schema}.Sanitize()
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+ident); err != nil {
			return translate(err)
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", ident); err != nil {
			return translate(err)
		}
		for i, m := range s.migs {
			if err := s.apply(ctx, tx, i); err != nil {
				return fmt.Errorf("spare schema: tenant migration %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('search_path', '', true)"); err != nil {
			return translate(err)
		}
		_, err := tx.Exec(ctx, "INSERT INTO eusaas.tenant_schema_pool (schema_name, applied) VALUES ($1, $2)", schema, s.all)
		return translate(err)
	})
	return made && err == nil, err
}

// takeSpare renames a spare schema to the tenant's, inside the caller's transaction (which
// holds the tenant schema's advisory lock), and returns the migrations it has. ok is false
// when there is no spare to take. A spare with a migration this binary does not know (made
// by a newer replica during a rolling upgrade) is left for the newer replicas.
func (s *TenantSchemas) takeSpare(ctx context.Context, tx pgx.Tx, tenant eusaas.TenantID) (applied []int32, ok bool, err error) {
	var spare string
	err = tx.QueryRow(ctx, `DELETE FROM eusaas.tenant_schema_pool
		WHERE schema_name = (SELECT schema_name FROM eusaas.tenant_schema_pool WHERE applied <@ $1::int[]
		                     ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
		RETURNING schema_name, applied`, s.all).Scan(&spare, &applied)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, translate(err)
	}
	schema := tenant.SchemaName()
	ident := pgx.Identifier{schema}.Sanitize()
	if _, err := tx.Exec(ctx, "ALTER SCHEMA "+pgx.Identifier{spare}.Sanitize()+" RENAME TO "+ident); err != nil {
		return nil, false, translate(err)
	}
	// Functions with a fixed search_path still name the spare; point them at the tenant.
	rows, err := tx.Query(ctx, `SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = $1::regnamespace
		  AND EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')`, schema)
	if err != nil {
		return nil, false, translate(err)
	}
	procs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, false, translate(err)
	}
	if len(procs) > 0 {
		// FROM CURRENT stores the path text exactly as the migrations' functions got it.
		if _, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", ident+", pg_temp"); err != nil {
			return nil, false, translate(err)
		}
		for _, p := range procs {
			if _, err := tx.Exec(ctx, "ALTER FUNCTION "+p+" SET search_path FROM CURRENT"); err != nil {
				return nil, false, translate(err)
			}
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('search_path', '', true)"); err != nil {
			return nil, false, translate(err)
		}
	}
	return applied, true, nil
}

// spareComplete reports whether a spare's applied set holds every known migration.
func (s *TenantSchemas) spareComplete(applied []int32) bool {
	for _, v := range s.all {
		if !slices.Contains(applied, v) {
			return false
		}
	}
	return true
}
