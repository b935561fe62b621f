package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/file"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/platform"
)

// citusCommand is `eusaas citus status|distribute`. Both need PostgreSQL (APP_POSTGRES_*);
// region labels come from APP_CITUS_REGION_NODES (eu-central-1=10.0.0.5:5432,...); see
// docs/scale-out.md. The work is in runCitusStatus and runCitusDistribute, which take
// their dependencies explicitly.
func (m *Main) citusCommand() *cobra.Command {
	status := &cobra.Command{
		Use:   "status",
		Short: "Citus nodes, tenant schemas per node, sizes, tenants not yet distributed",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.withCitus(cmd.Context(), func(ctx context.Context, cfg Config, db *postgres.DB) error {
				return runCitusStatus(ctx, m.Stdout, db, cfg.CitusRegionNodes)
			})
		},
	}
	var all bool
	distribute := &cobra.Command{
		Use:   "distribute (--all | TENANT)",
		Short: "distribute existing tenant schemas (TENANT: id or schema name) and place them in their residency region",
		Args: func(cmd *cobra.Command, a []string) error {
			if all == (len(a) == 1) || len(a) > 1 {
				return usageErrorf("citus distribute: give either --all or one TENANT")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, a []string) error {
			target := ""
			if len(a) == 1 {
				target = a[0]
			}
			return m.withCitus(cmd.Context(), func(ctx context.Context, cfg Config, db *postgres.DB) error {
				// Every placement is audited (TENANT_PLACED), as when the server places.
				rec, closeAudit, err := citusAudit(cfg, db, m.logger(cfg.LogLevel))
				if err != nil {
					return err
				}
				defer closeAudit()
				return runCitusDistribute(ctx, m.Stdout, db, cfg.CitusRegionNodes, rec, target)
			})
		},
	}
	distribute.Flags().BoolVar(&all, "all", false, "distribute every tenant schema not yet distributed (and check the placement of the others)")
	return group("citus", "Citus schema-based sharding of tenant schemas (docs/scale-out.md)", status, distribute)
}

// withCitus reads the configuration (APP_CITUS_REGION_NODES with the rest, before anything
// connects), opens the database and runs f.
func (m *Main) withCitus(ctx context.Context, f func(ctx context.Context, cfg Config, db *postgres.DB) error) error {
	cfg, err := LoadConfig(m.Getenv)
	if err != nil {
		return err
	}
	db, err := openPostgres(ctx, cfg, "citus")
	if err != nil {
		return err
	}
	defer db.Close()
	return f(ctx, cfg, db)
}

// citusAudit is the audit service a citus command records through: the server's audit
// settings (signing key, checkpoint cadence and directory) on the database's audit store.
// The returned func makes the last checkpoint and closes it.
func citusAudit(cfg Config, db *postgres.DB, log *slog.Logger) (eusaas.Recorder, func(), error) {
	key, err := auditSigner(cfg.Audit, false, log)
	if err != nil {
		return nil, nil, err
	}
	store := postgres.NewAuditStore(db)
	deps := audit.Deps{Store: store, Keys: store, Tx: db}
	var sinks audit.Sinks
	// The same checkpoint copies as the server's: APP_STORAGE_URL, then the directory.
	bucket, err := openStorage(context.Background(), cfg.Storage, log)
	if err != nil {
		return nil, nil, err
	}
	if bucket != nil {
		sinks = append(sinks, &platform.CheckpointStore{Bucket: bucket, Retain: time.Duration(cfg.Storage.LockDays) * 24 * time.Hour, Mode: cfg.Storage.LockMode})
	}
	if cfg.Audit.CheckpointDir != "" {
		sink, err := file.NewCheckpointSink(cfg.Audit.CheckpointDir)
		if err != nil {
			return nil, nil, &ConfigError{"APP_AUDIT_CHECKPOINT_DIR", "cannot create or open the directory"}
		}
		sinks = append(sinks, sink)
	}
	switch len(sinks) {
	case 0:
	case 1:
		deps.Sink = sinks[0]
	default:
		deps.Sink = sinks
	}
	svc, err := audit.NewService(deps, audit.Options{Signer: key, PreviousKeys: cfg.Audit.PreviousKeys,
		CheckpointEvery: cfg.Audit.CheckpointEvery, CheckpointInterval: cfg.Audit.CheckpointEach, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return svc, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := svc.Flush(ctx); err != nil {
			log.Error("audit: final checkpoint", "error", err.Error())
		}
		svc.Close()
	}, nil
}

// runCitusStatus prints the Citus cluster as the tenant schemas see it: nodes with their
// region labels, schemas and bytes, every tenant's placement, and the tenants not yet
// distributed. Without the citus extension it says "Citus not installed" and succeeds.
func runCitusStatus(ctx context.Context, w io.Writer, db *postgres.DB, nodes postgres.RegionNodes) error {
	st, err := postgres.NewCitus(db, nodes).Status(ctx)
	if err != nil {
		return fmt.Errorf("citus status: %w", err)
	}
	if !st.Installed {
		fmt.Fprintln(w, "Citus not installed: the citus extension is not in this database; tenant schemas are local (data_residency_region is a label only)")
		return nil
	}
	sharding := "off"
	if st.SchemaSharding {
		sharding = "on"
	}
	fmt.Fprintf(w, "Citus %s; citus.enable_schema_based_sharding = %s\n", st.Version, sharding)
	if st.PlatformDistributed {
		fmt.Fprintf(w, "WARNING: the platform schema %s is distributed; it must stay on the coordinator (SELECT citus_schema_undistribute('%s'))\n",
			postgres.PlatformSchema, postgres.PlatformSchema)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tREGION\tSCHEMAS\tBYTES")
	for _, n := range st.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", n.Node, dash(n.Region), n.Schemas, n.Bytes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tSCHEMA\tREGION\tNODE\tBYTES\tRESIDENCY\tPLACED")
	misplaced := 0
	for _, p := range st.Tenants {
		node, res := "local (not distributed)", "-"
		if p.Distributed {
			node, res = p.Node.String(), "ok"
			if !p.ResidencyOK {
				res = "WRONG REGION"
				misplaced++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", p.TenantID, p.Schema, dash(p.Region), node, p.Bytes, res, placedText(p))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d tenant schemas, %d not yet distributed, %d outside their region", len(st.Tenants), st.Undistributed, misplaced)
	if st.Undistributed+misplaced > 0 {
		fmt.Fprint(w, " (eusaas citus distribute --all)")
	}
	fmt.Fprintln(w)
	return nil
}

// runCitusDistribute distributes one tenant's schema (target: a tenant id or schema name)
// or, with target "", every schema not yet distributed, and places each on a node of its
// region. One line per tenant; a failed tenant does not stop the others, and the command
// fails when any did.
func runCitusDistribute(ctx context.Context, w io.Writer, db *postgres.DB, nodes postgres.RegionNodes, rec eusaas.Recorder, target string) error {
	var tenants []eusaas.TenantID
	if target != "" {
		id, err := eusaas.ParseTenantID(target)
		if hex, ok := strings.CutPrefix(target, "t_"); ok && len(hex) == 32 {
			var u uuid.UUID
			u, err = uuid.Parse(hex)
			id = eusaas.TenantID(u)
		}
		if err != nil {
			return fmt.Errorf("citus distribute: %q is neither a tenant id nor a tenant schema name", target)
		}
		tenants = []eusaas.TenantID{id}
	}
	c := postgres.NewCitus(db, nodes)
	c.SetRecorder(rec)
	installed, err := db.CitusInstalled(ctx)
	if err != nil {
		return fmt.Errorf("citus distribute: %w", err)
	}
	if !installed {
		fmt.Fprintln(w, "Citus not installed: nothing to distribute")
		return fmt.Errorf("citus distribute: %w", postgres.ErrCitusNotInstalled)
	}
	if target == "" {
		// Every tenant schema: the undistributed ones are distributed, the others (made
		// distributed at creation) get their placement checked.
		st, err := c.Status(ctx)
		if err != nil {
			return fmt.Errorf("citus distribute: %w", err)
		}
		for _, p := range st.Tenants {
			tenants = append(tenants, p.TenantID)
		}
	}
	failed := 0
	for _, t := range tenants {
		d, err := c.Distribute(ctx, t)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(w, "%s FAILED: %v\n", t.SchemaName(), err)
		case d.AlreadyDistributed && d.MovedFrom.IsZero():
			fmt.Fprintf(w, "%s already distributed, on %s\n", d.Schema, d.Node)
		case d.AlreadyDistributed:
			fmt.Fprintf(w, "%s moved from %s to %s (residency)\n", d.Schema, d.MovedFrom, d.Node)
		case !d.MovedFrom.IsZero():
			fmt.Fprintf(w, "%s distributed (%d rows, local copy truncated), moved from %s to %s (residency)\n", d.Schema, d.Rows, d.MovedFrom, d.Node)
		default:
			fmt.Fprintf(w, "%s distributed (%d rows, local copy truncated), on %s\n", d.Schema, d.Rows, d.Node)
		}
	}
	fmt.Fprintf(w, "%d tenant schemas, %d failed\n", len(tenants), failed)
	if failed > 0 {
		return fmt.Errorf("citus distribute: %d of %d tenant schemas failed", failed, len(tenants))
	}
	return nil
}

// placedText is the recorded placement of a tenant schema (eusaas.tenant_placements) as the
// status shows it: when it was placed, and where when that is not where it is now.
func placedText(p postgres.CitusTenantPlacement) string {
	r := p.Recorded
	if r.Node == "" {
		return "-"
	}
	out := r.PlacedAt.UTC().Format(time.RFC3339)
	if !p.Distributed || r.Node != p.Node.String() {
		out += " (recorded on " + r.Node + ", not where it is)"
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
