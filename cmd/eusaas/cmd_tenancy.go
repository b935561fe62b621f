package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/adapters/river"
)

// migrateCommand is `eusaas migrate` (platform schema and job queue) with its subcommand
// `migrate tenants` (every tenant schema). Both need Postgres (APP_POSTGRES_*).
func (m *Main) migrateCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "migrate",
		Short: "apply the platform migrations (and the job queue's)",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return m.migratePlatform(cmd.Context()) },
	}
	var concurrency int
	tenants := &cobra.Command{
		Use:   "tenants",
		Short: "bring every tenant schema to the latest version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if concurrency < 1 || concurrency > 64 {
				return usageErrorf("migrate tenants: --concurrency must be between 1 and 64")
			}
			return m.migrateTenants(cmd.Context(), concurrency)
		},
	}
	tenants.Flags().IntVar(&concurrency, "concurrency", 4, "tenant schemas migrated at the same time (1..64)")
	c.AddCommand(tenants)
	return c
}

func (m *Main) migratePlatform(ctx context.Context) error {
	db, err := tenancyOpenDB(ctx, m)
	if err != nil {
		return err
	}
	defer db.Close()
	return tenancyMigratePlatform(ctx, db, m.Stdout)
}

// tenancyMigratePlatform applies the platform and job queue migrations and says truthfully
// what it did: "up to date" only when nothing was applied.
func tenancyMigratePlatform(ctx context.Context, db *postgres.DB, w io.Writer) error {
	start := time.Now()
	applied, err := db.MigratePlatformApplied(ctx)
	if err != nil {
		return fmt.Errorf("platform migrations: %w", err)
	}
	// The job queue's tables (River) live beside the platform tables.
	jobs, err := river.MigrateApplied(ctx, db.Pool, "")
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	took := time.Since(start).Round(time.Millisecond)
	if len(applied) == 0 && len(jobs) == 0 {
		fmt.Fprintf(w, "platform schema %s is up to date (%s)\n", postgres.PlatformSchema, took)
		return nil
	}
	fmt.Fprintf(w, "platform schema %s: applied %d platform migrations %v and %d job queue migrations %v (%s)\n",
		postgres.PlatformSchema, len(applied), applied, len(jobs), jobs, took)
	return nil
}

func (m *Main) migrateTenants(ctx context.Context, concurrency int) error {
	db, err := tenancyOpenDB(ctx, m)
	if err != nil {
		return err
	}
	defer db.Close()
	schemas, err := postgres.EmbeddedTenantSchemas(db)
	if err != nil {
		return err
	}
	res, err := TenancyMigrateTenants(ctx, schemas, concurrency, m.Stdout)
	if err != nil {
		return err
	}
	if len(res.Failed) > 0 {
		return fmt.Errorf("migrate tenants: %d of %d schemas failed (state 'failed' in eusaas.tenant_schemas; rerun to resume)", len(res.Failed), res.Lagging)
	}
	return nil
}

// TenancyMigrateTenants migrates every lagging tenant schema with the given concurrency and
// writes one progress line per schema and a summary to w. Failed schemas are listed in the
// result; the others are migrated regardless.
func TenancyMigrateTenants(ctx context.Context, schemas *postgres.TenantSchemas, concurrency int, w io.Writer) (postgres.RunResult, error) {
	res, err := schemas.Run(ctx, concurrency, func(r postgres.SchemaResult) {
		if r.Err != nil {
			fmt.Fprintf(w, "[%d/%d] %s FAILED at version %d: %v\n", r.Done, r.Total, r.Schema, r.To, r.Err)
			return
		}
		fmt.Fprintf(w, "[%d/%d] %s %d -> %d applied %v (%s)\n", r.Done, r.Total, r.Schema, r.From, r.To, r.Applied, r.Duration.Round(time.Millisecond))
	})
	if err != nil {
		return res, fmt.Errorf("migrate tenants: %w", err)
	}
	if res.Lagging == 0 {
		fmt.Fprintf(w, "every tenant schema is up to date (%s)\n", res.Duration.Round(time.Millisecond))
	} else {
		fmt.Fprintf(w, "%d schemas migrated, %d failed (%s)\n", res.Migrated, len(res.Failed), res.Duration.Round(time.Millisecond))
	}
	return res, nil
}

func tenancyOpenDB(ctx context.Context, m *Main) (*postgres.DB, error) {
	cfg, err := LoadConfig(m.Getenv)
	if err != nil {
		return nil, err
	}
	return openPostgres(ctx, cfg, "migrate")
}

// openPostgres opens the configured database for the command named cmd, which needs
// PostgreSQL.
func openPostgres(ctx context.Context, cfg Config, cmd string) (*postgres.DB, error) {
	if cfg.Postgres == nil {
		why := "needs PostgreSQL: set at least one APP_POSTGRES_* variable"
		if cmd == "migrate" {
			why += " (the in-memory mode has nothing to migrate)"
		}
		return nil, &ConfigError{"APP_POSTGRES_HOST", cmd + " " + why}
	}
	db, err := postgres.Open(ctx, cfg.Postgres.URL())
	if err != nil {
		return nil, fmt.Errorf("postgres at %s: %w", cfg.Postgres.Where(), err)
	}
	return db, nil
}
