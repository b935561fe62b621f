package postgres

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/eusaas/eusaas"
)

// Platform migrations live in migrations/platform as goose SQL files. Number ranges per
// module keep parallel work from colliding: 1-9 tenancy, 10-19 auth, 20-29 audit,
// 30-39 gdpr and jobs, 40-49 billing, 50-59 anomaly; later migrations take the next free
// number of 100 and up.
//
//go:embed migrations/platform/*.sql
var platformMigrations embed.FS

// Tenant schema migrations live in migrations/tenant as NNNN_name.sql (same ranges). Each
// file is one version, applied inside the tenant's schema with search_path set to it.
//
//go:embed migrations/tenant/*.sql
var tenantMigrationFiles embed.FS

// MigratePlatform applies the platform migrations. It is safe to run concurrently from
// several processes (goose takes a Postgres advisory lock).
func (db *DB) MigratePlatform(ctx context.Context) error {
	_, err := db.MigratePlatformApplied(ctx)
	return err
}

// MigratePlatformApplied is MigratePlatform returning the file names of the migrations it
// applied (none when the schema was up to date), so operators are told what changed.
//
// goose executes a file's statements one per Exec (it splits on a semicolon ending a line,
// and keeps a -- +goose StatementBegin/End block whole), so a block must hold exactly one
// statement; TestPlatformMigrationsOneStatementPerExec checks what is sent. With Citus the
// platform schema is created local (CreateLocalSchema) and the run fails if it is
// distributed.
func (db *DB) MigratePlatformApplied(ctx context.Context) ([]string, error) {
	if err := db.CreateLocalSchema(ctx, PlatformSchema); err != nil {
		return nil, err
	}
	if err := db.checkPlatformLocal(ctx); err != nil {
		return nil, err
	}
	sqldb := stdlib.OpenDBFromPool(db.Pool)
	defer sqldb.Close()
	sub, err := fs.Sub(platformMigrations, "migrations/platform")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqldb, sub,
		goose.WithTableName(PlatformSchema+".goose_db_version"),
		goose.WithSessionLocker(locker),
		goose.WithAllowOutofOrder(true),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	var applied []string
	for _, r := range res {
		if r != nil && r.Error == nil && r.Source != nil {
			applied = append(applied, path.Base(r.Source.Path))
		}
	}
	return applied, err
}

// TenantMigration is one version of the tenant schema.
type TenantMigration struct {
	Version int
	Name    string
	SQL     string
}

// TenantMigrations returns the embedded tenant schema migrations in version order.
func TenantMigrations() ([]TenantMigration, error) {
	entries, err := fs.ReadDir(tenantMigrationFiles, "migrations/tenant")
	if err != nil {
		return nil, err
	}
	var out []TenantMigration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(name, "_")
		if !ok || !strings.HasSuffix(name, ".sql") {
			continue
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		b, err := tenantMigrationFiles.ReadFile("migrations/tenant/" + name)
		if err != nil {
			return nil, err
		}
		out = append(out, TenantMigration{Version: v, Name: strings.TrimSuffix(rest, ".sql"), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// CreateTenantSchema creates the tenant's schema, applies every tenant migration and records
// the schema's version in eusaas.tenant_schemas, in one transaction, so a failure leaves no
// half-made schema. It runs the platform migrations first if this database has not had
// them. See TenantSchemas (tenantmigrate.go) for the per-schema migration state machine.
func (db *DB) CreateTenantSchema(ctx context.Context, tenant eusaas.TenantID) error {
	s, err := EmbeddedTenantSchemas(db)
	if err != nil {
		return err
	}
	return s.Create(ctx, tenant)
}

// DropTenantSchema drops the tenant's schema and everything in it, and its version record.
// Dropping a schema that is already gone is not an error (erasure steps are idempotent).
func (db *DB) DropTenantSchema(ctx context.Context, tenant eusaas.TenantID) error {
	s, err := EmbeddedTenantSchemas(db)
	if err != nil {
		return err
	}
	return s.Drop(ctx, tenant)
}
