package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/file"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/adapters/witness"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/platform"
)

// errAuditFindings makes `eusaas audit verify` exit non-zero after it printed its report.
var errAuditFindings = errors.New("audit verification found tampering")

func (m *Main) auditVerifyCommand() *cobra.Command {
	var tenant, keyFile string
	var witnesses []string
	c := &cobra.Command{
		Use:   "verify",
		Short: "verify every audit chain (or one tenant's); exits 1 when any chain has a finding",
		Long: `Verifies every audit chain (or only the tenant's) in the Postgres database named by
APP_POSTGRES_*: the hash chain, the Merkle tree and the writers' head signatures, the
signed checkpoints, and the checkpoint sink's copies. With --witness (a directory holding a
copy of the checkpoint files, or the URL of a witness service; repeatable) each chain must
also extend the latest checkpoint the witness holds: a rollback, truncation or rewrite of
checkpointed history is found even when the database's checkpoints and the local files
were removed with it. Exits 1 when any chain has a finding.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return auditVerify(cmd.Context(), m, tenant, keyFile, witnesses)
		},
	}
	c.Flags().StringArrayVar(&witnesses, "witness", nil, "a witness to check against: a checkpoint directory or an http(s) witness URL (repeatable)")
	c.Flags().StringVar(&tenant, "tenant", "", "verify only this tenant's chain (a tenant id; "+audit.PlatformChain.String()+" is the platform chain)")
	c.Flags().StringVar(&keyFile, "public-key", "", "PEM public key of the checkpoints (default: derived from APP_AUDIT_SIGNING_KEY, else APP_AUDIT_CHECKPOINT_DIR/"+file.PublicKeyFile+")")
	return c
}

func (m *Main) auditKeygenCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "print a new checkpoint signing key (for APP_AUDIT_SIGNING_KEY) and its public key",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return auditKeygenCmd(m.Stdout) },
	}
}

func auditVerify(ctx context.Context, m *Main, tenantFlag, keyFile string, witnesses []string) error {
	cfg, err := LoadConfig(m.Getenv)
	if err != nil {
		return err
	}
	acfg, err := LoadAuditConfig(m.Getenv)
	if err != nil {
		return err
	}
	if cfg.Postgres == nil {
		return &ConfigError{"APP_POSTGRES_HOST", "audit verify reads the Postgres audit log: set APP_POSTGRES_* (memory mode keeps nothing to verify)"}
	}
	pub, err := auditPublicKey(keyFile, acfg)
	if err != nil {
		return err
	}
	var ws []audit.CheckpointSource
	for _, w := range witnesses {
		src, err := auditWitness(w)
		if err != nil {
			return err
		}
		ws = append(ws, src)
	}
	db, err := postgres.Open(ctx, cfg.Postgres.URL())
	if err != nil {
		return err
	}
	defer db.Close()
	store := postgres.NewAuditStore(db)
	v := &audit.Verifier{Store: store, Keys: store, PublicKey: pub, PreviousKeys: acfg.PreviousKeys, Witnesses: ws}
	var sources audit.Sinks
	// The checkpoint copies in APP_STORAGE_URL are checked like the directory's: the
	// largest checkpoint either holds must still match the chain.
	bucket, err := openStorage(ctx, cfg.Storage, m.logger(cfg.LogLevel))
	if err != nil {
		return err
	}
	if bucket != nil {
		sources = append(sources, &platform.CheckpointStore{Bucket: bucket})
	}
	if acfg.CheckpointDir != "" {
		sink, err := file.NewCheckpointSink(acfg.CheckpointDir)
		if err != nil {
			return err
		}
		sources = append(sources, sink)
	}
	switch len(sources) {
	case 0:
	case 1:
		v.Source = sources[0].(audit.CheckpointSource)
	default:
		v.Source = sources
	}
	var chains []eusaas.TenantID
	if tenantFlag != "" {
		id, err := eusaas.ParseTenantID(tenantFlag)
		if err != nil && tenantFlag != audit.PlatformChain.String() {
			return usageErrorf("--tenant must be a tenant id (UUID)")
		}
		chains = []eusaas.TenantID{id}
	} else if chains, err = store.Chains(ctx); err != nil {
		return err
	}
	if pub == nil && len(acfg.PreviousKeys) == 0 {
		fmt.Fprintln(m.Stdout, "warning: no checkpoint public key; checkpoints are not checked (truncation that rewinds a head is not detected)")
	}
	return auditReport(ctx, m.Stdout, v, chains)
}

// auditReport verifies each chain, prints one line per chain and returns errAuditFindings
// when any chain failed.
func auditReport(ctx context.Context, w io.Writer, v *audit.Verifier, chains []eusaas.TenantID) error {
	failed := 0
	for _, c := range chains {
		name := "tenant " + c.String()
		if c == audit.PlatformChain {
			name = "platform"
		}
		r, err := v.Verify(ctx, c)
		if err != nil {
			return fmt.Errorf("verify %s: %w", name, err)
		}
		if !r.OK {
			failed++
			fmt.Fprintf(w, "FAIL %s: %s (%d entries verified before it)\n", name, r.Finding, r.Entries)
			continue
		}
		cp := "no checkpoint"
		if r.Checkpoint != nil {
			cp = fmt.Sprintf("checkpoint at %d signed %s", r.Checkpoint.Size, r.Checkpoint.Time.Format("2006-01-02T15:04:05Z"))
		}
		fmt.Fprintf(w, "ok   %s: %d entries, head %s, %s\n", name, r.Entries, r.Head.Hash, cp)
	}
	fmt.Fprintf(w, "%d chains verified, %d with findings\n", len(chains), failed)
	if failed > 0 {
		return errAuditFindings
	}
	return nil
}

// auditPublicKey finds the checkpoint verification key: a PEM file, else the configured
// signing key, else the key published in the checkpoint directory; nil when none.
func auditPublicKey(path string, cfg AuditConfig) (ed25519.PublicKey, error) {
	if path == "" && cfg.Signer != nil {
		return cfg.Signer.Public().(ed25519.PublicKey), nil
	}
	if path == "" && cfg.CheckpointDir != "" {
		p := filepath.Join(cfg.CheckpointDir, file.PublicKeyFile)
		if _, err := os.Stat(p); err == nil {
			path = p
		}
	}
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{"--public-key", "cannot read the file"}
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, &ConfigError{"--public-key", "not a PEM file"}
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, &ConfigError{"--public-key", "not a PKIX public key"}
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, &ConfigError{"--public-key", "not an Ed25519 key"}
	}
	return pub, nil
}

func auditKeygenCmd(w io.Writer) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "APP_AUDIT_SIGNING_KEY=%s\n# key id %s; public key:\n%s", base64.StdEncoding.EncodeToString(priv.Seed()),
		audit.KeyID(pub), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return nil
}

// auditWitness opens a --witness: an http(s) URL is a witness service, anything else a
// directory of checkpoint files that must exist (a typo must not pass as "nothing witnessed").
func auditWitness(w string) (audit.CheckpointSource, error) {
	if strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://") {
		c, err := witness.NewClient(w)
		if err != nil {
			return nil, usageErrorf("--witness %q: %v", w, err)
		}
		return c, nil
	}
	if st, err := os.Stat(w); err != nil || !st.IsDir() {
		return nil, usageErrorf("--witness %q: not a directory or an http(s) URL", w)
	}
	return file.NewCheckpointSink(w)
}

func (m *Main) auditExportCommand() *cobra.Command {
	var tenant, out string
	var from, to int64
	c := &cobra.Command{
		Use:   "export",
		Short: "export a chain segment with its inclusion proofs and signed checkpoint, for offline audit",
		Long: `Writes entries --from..--to of a chain (--tenant ID; the zero UUID is the platform chain) as
JSON: each entry in the exact form its hash covers (personal values only as commitments),
its RFC 6962 inclusion proof, and the signed checkpoint note they are proved against.
An auditor checks it with "eusaas audit verify-export FILE --key VERIFIER_KEY" or any RFC 6962
verifier and the key from GET /api/v1/audit/checkpoint-key. Needs APP_POSTGRES_* and
APP_AUDIT_SIGNING_KEY (a checkpoint is made when none covers --to yet).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return auditExport(cmd.Context(), m, tenant, from, to, out)
		},
	}
	c.Flags().StringVar(&tenant, "tenant", "", "the chain: a tenant id, or "+audit.PlatformChain.String()+" for the platform chain")
	c.Flags().Int64Var(&from, "from", 1, "first seq")
	c.Flags().Int64Var(&to, "to", 0, "last seq")
	c.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	_ = c.MarkFlagRequired("tenant")
	_ = c.MarkFlagRequired("to")
	return c
}

func (m *Main) auditVerifyExportCommand() *cobra.Command {
	var key, origin string
	c := &cobra.Command{
		Use:   "verify-export FILE",
		Short: "verify an exported chain segment offline with the checkpoint verifier key; exits 1 when it fails",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return usageErrorf("cannot read %s", args[0])
			}
			var seg audit.Segment
			if err := json.Unmarshal(b, &seg); err != nil {
				return usageErrorf("%s is not an audit export", args[0])
			}
			if err := audit.VerifySegment(seg, key, origin); err != nil {
				fmt.Fprintf(m.Stdout, "FAIL %s: %v\n", args[0], err)
				return errAuditFindings
			}
			fmt.Fprintf(m.Stdout, "ok   chain %s: entries %d..%d included in the signed tree of size %d\n", seg.Chain, seg.From, seg.To, seg.TreeSize)
			return nil
		},
	}
	c.Flags().StringVar(&key, "key", "", "the note verifier key (GET /api/v1/audit/checkpoint-key: verifier_key)")
	c.Flags().StringVar(&origin, "origin", audit.DefaultLogOrigin, "the log's origin prefix")
	_ = c.MarkFlagRequired("key")
	return c
}

func auditExport(ctx context.Context, m *Main, tenantFlag string, from, to int64, out string) error {
	cfg, err := LoadConfig(m.Getenv)
	if err != nil {
		return err
	}
	if cfg.Postgres == nil {
		return &ConfigError{"APP_POSTGRES_HOST", "audit export reads the Postgres audit log: set APP_POSTGRES_*"}
	}
	if cfg.Audit.Signer == nil {
		return &ConfigError{"APP_AUDIT_SIGNING_KEY", "audit export proves entries against a signed checkpoint: set the signing key"}
	}
	chain, err := eusaas.ParseTenantID(tenantFlag)
	if err != nil && tenantFlag != audit.PlatformChain.String() {
		return usageErrorf("--tenant must be a tenant id (UUID)")
	}
	db, err := postgres.Open(ctx, cfg.Postgres.URL())
	if err != nil {
		return err
	}
	defer db.Close()
	store := postgres.NewAuditStore(db)
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store}, audit.Options{Signer: cfg.Audit.Signer, PreviousKeys: cfg.Audit.PreviousKeys})
	if err != nil {
		return err
	}
	seg, err := svc.Segment(ctx, chain, from, to)
	if eusaas.KindOf(err) == eusaas.InvalidArgument {
		return usageErrorf("--from/--to: %v", err)
	}
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(seg, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if out == "" {
		_, err = m.Stdout.Write(b)
		return err
	}
	return os.WriteFile(out, b, 0o644)
}
