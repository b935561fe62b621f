package postgres

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// GDPRStore implements gdpr.RequestStore, gdpr.PolicyStore, gdpr.HoldStore and
// gdpr.KeyStore on the platform schema.
type GDPRStore struct {
	db  *DB
	kek cipher.AEAD // nil: key material stored as is
	// previous are retired KEKs that still open keys sealed before a rotation (until
	// Reseal has re-sealed them with kek).
	previous []cipher.AEAD
}

var (
	_ gdpr.RequestStore = (*GDPRStore)(nil)
	_ gdpr.PolicyStore  = (*GDPRStore)(nil)
	_ gdpr.HoldStore    = (*GDPRStore)(nil)
	_ gdpr.KeyStore     = (*GDPRStore)(nil)
)

// kekSize is the length of a key-encryption key (AES-256).
const kekSize = 32

func newKEK(k []byte) (cipher.AEAD, error) {
	if len(k) != kekSize {
		return nil, eusaas.Errorf(eusaas.InvalidArgument, "gdpr: key-encryption key is %d bytes, want %d", len(k), kekSize)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// NewGDPRStore returns the store. kek, when set, is a 32-byte key-encryption key: backup
// keys are stored sealed with it (AES-256-GCM), so a database dump alone does not yield
// them. previous are the KEKs in use before a rotation: keys sealed with one of them still
// open (so a server keeps working during the switch) until Reseal re-seals them with kek.
func NewGDPRStore(db *DB, kek []byte, previous ...[]byte) (*GDPRStore, error) {
	s := &GDPRStore{db: db}
	if len(kek) == 0 {
		if len(previous) > 0 {
			return nil, eusaas.E(eusaas.InvalidArgument, "gdpr: previous key-encryption keys need a current one")
		}
		return s, nil
	}
	var err error
	if s.kek, err = newKEK(kek); err != nil {
		return nil, err
	}
	for _, p := range previous {
		a, err := newKEK(p)
		if err != nil {
			return nil, err
		}
		s.previous = append(s.previous, a)
	}
	return s, nil
}

const gdprRequestColumns = "doc, certificate, version"

func gdprNullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func gdprEncode(r gdpr.Request) (doc, cert []byte, err error) {
	if r.Certificate != nil {
		if cert, err = json.Marshal(r.Certificate); err != nil {
			return nil, nil, err
		}
	}
	r.Certificate, r.Version = nil, 0 // kept in their own columns
	doc, err = json.Marshal(r)
	return doc, cert, err
}

func gdprScanRequests(rows pgx.Rows) ([]gdpr.Request, error) {
	defer rows.Close()
	var out []gdpr.Request
	for rows.Next() {
		var doc, cert []byte
		var version int64
		if err := rows.Scan(&doc, &cert, &version); err != nil {
			return nil, translate(err)
		}
		var r gdpr.Request
		if err := json.Unmarshal(doc, &r); err != nil {
			return nil, err
		}
		r.Version = version
		if cert != nil {
			r.Certificate = &gdpr.SignedCertificate{}
			if err := json.Unmarshal(cert, r.Certificate); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}

func (s *GDPRStore) query(ctx context.Context, sql string, args ...any) ([]gdpr.Request, error) {
	rows, err := s.db.q(ctx).Query(ctx, sql, args...)
	if err != nil {
		return nil, translate(err)
	}
	return gdprScanRequests(rows)
}

func (s *GDPRStore) one(ctx context.Context, sql string, args ...any) (gdpr.Request, error) {
	rs, err := s.query(ctx, sql, args...)
	if err != nil {
		return gdpr.Request{}, err
	}
	if len(rs) == 0 {
		return gdpr.Request{}, eusaas.E(eusaas.NotFound, "gdpr request not found")
	}
	return rs[0], nil
}

// CreateRequest implements gdpr.RequestStore.
func (s *GDPRStore) CreateRequest(ctx context.Context, r gdpr.Request) error {
	doc, cert, err := gdprEncode(r)
	if err != nil {
		return err
	}
	_, err = s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.gdpr_requests
		(id, tenant_id, kind, status, subject_id, requested_at, due_at, expires_at, doc, certificate, version)
		VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8, $9, $10, 1)`,
		r.ID, r.TenantID.UUID(), string(r.Kind), string(r.Status), r.SubjectID, r.RequestedAt, r.DueAt,
		gdprNullTime(r.ExpiresAt), doc, cert)
	return translate(err)
}

// Request implements gdpr.RequestStore.
func (s *GDPRStore) Request(ctx context.Context, tenant eusaas.TenantID, id string) (gdpr.Request, error) {
	return s.one(ctx, `SELECT `+gdprRequestColumns+` FROM eusaas.gdpr_requests WHERE id = $1 AND tenant_id = $2`, id, tenant.UUID())
}

// UpdateRequest implements gdpr.RequestStore.
func (s *GDPRStore) UpdateRequest(ctx context.Context, r *gdpr.Request) error {
	doc, cert, err := gdprEncode(*r)
	if err != nil {
		return err
	}
	tag, err := s.db.q(ctx).Exec(ctx, `UPDATE eusaas.gdpr_requests SET status = $3, subject_id = NULLIF($4, ''),
		expires_at = $5, doc = $6, certificate = $7, version = version + 1
		WHERE id = $1 AND tenant_id = $2 AND version = $8`,
		r.ID, r.TenantID.UUID(), string(r.Status), r.SubjectID, gdprNullTime(r.ExpiresAt), doc, cert, r.Version)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := s.db.q(ctx).QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM eusaas.gdpr_requests WHERE id = $1 AND tenant_id = $2)`,
			r.ID, r.TenantID.UUID()).Scan(&exists); err != nil {
			return translate(err)
		}
		if exists {
			return eusaas.E(eusaas.Aborted, "gdpr request changed concurrently")
		}
		return eusaas.E(eusaas.NotFound, "gdpr request not found")
	}
	r.Version++
	return nil
}

// TenantErasure implements gdpr.RequestStore.
func (s *GDPRStore) TenantErasure(ctx context.Context, tenant eusaas.TenantID) (gdpr.Request, error) {
	return s.one(ctx, `SELECT `+gdprRequestColumns+` FROM eusaas.gdpr_requests WHERE tenant_id = $1 AND kind = 'TENANT_ERASURE'`, tenant.UUID())
}

// SubjectErasure implements gdpr.RequestStore.
func (s *GDPRStore) SubjectErasure(ctx context.Context, tenant eusaas.TenantID, subject string) (gdpr.Request, error) {
	return s.one(ctx, `SELECT `+gdprRequestColumns+` FROM eusaas.gdpr_requests
		WHERE tenant_id = $1 AND kind = 'SUBJECT_ERASURE' AND subject_id = $2 AND status <> 'FAILED'
		ORDER BY requested_at DESC, id DESC LIMIT 1`, tenant.UUID(), subject)
}

// Unfinished implements gdpr.RequestStore.
func (s *GDPRStore) Unfinished(ctx context.Context, kind gdpr.Kind) ([]gdpr.Request, error) {
	return s.query(ctx, `SELECT `+gdprRequestColumns+` FROM eusaas.gdpr_requests
		WHERE kind = $1 AND status IN ('PENDING', 'PROCESSING') ORDER BY requested_at, id`, string(kind))
}

// ExpiredExports implements gdpr.RequestStore.
func (s *GDPRStore) ExpiredExports(ctx context.Context, now time.Time) ([]gdpr.Request, error) {
	return s.query(ctx, `SELECT `+gdprRequestColumns+` FROM eusaas.gdpr_requests
		WHERE kind = 'EXPORT' AND status = 'COMPLETED' AND expires_at <= $1 ORDER BY requested_at, id`, now)
}

// Exports implements gdpr.RequestStore.
func (s *GDPRStore) Exports(ctx context.Context, tenant eusaas.TenantID) ([]gdpr.Request, error) {
	return s.query(ctx, `SELECT `+gdprRequestColumns+` FROM eusaas.gdpr_requests
		WHERE tenant_id = $1 AND kind = 'EXPORT' ORDER BY requested_at, id`, tenant.UUID())
}

// CountOverdue implements gdpr.RequestStore.
func (s *GDPRStore) CountOverdue(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.db.q(ctx).QueryRow(ctx, `SELECT count(*) FROM eusaas.gdpr_requests
		WHERE status NOT IN ('COMPLETED', 'EXPIRED') AND due_at < $1`, now).Scan(&n)
	return n, translate(err)
}

// Policy implements gdpr.PolicyStore.
func (s *GDPRStore) Policy(ctx context.Context, tenant eusaas.TenantID) (gdpr.Policy, error) {
	p := gdpr.Policy{TenantID: tenant}
	err := s.db.q(ctx).QueryRow(ctx, `SELECT default_retention_days, audit_log_retention_days, backup_retention_days,
		pii_retention_days, updated_at, updated_by FROM eusaas.gdpr_retention_policies WHERE tenant_id = $1`, tenant.UUID()).
		Scan(&p.DefaultRetentionDays, &p.AuditLogRetentionDays, &p.BackupRetentionDays, &p.PIIRetentionDays, &p.UpdatedAt, &p.UpdatedBy)
	if err != nil {
		return gdpr.Policy{}, translate(err)
	}
	p.UpdatedAt = p.UpdatedAt.UTC()
	return p, nil
}

// PutPolicy implements gdpr.PolicyStore.
func (s *GDPRStore) PutPolicy(ctx context.Context, p gdpr.Policy) error {
	_, err := s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.gdpr_retention_policies
		(tenant_id, default_retention_days, audit_log_retention_days, backup_retention_days, pii_retention_days, updated_at, updated_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (tenant_id) DO UPDATE SET default_retention_days = EXCLUDED.default_retention_days,
		audit_log_retention_days = EXCLUDED.audit_log_retention_days, backup_retention_days = EXCLUDED.backup_retention_days,
		pii_retention_days = EXCLUDED.pii_retention_days, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by`,
		p.TenantID.UUID(), p.DefaultRetentionDays, p.AuditLogRetentionDays, p.BackupRetentionDays, p.PIIRetentionDays,
		p.UpdatedAt, p.UpdatedBy)
	return translate(err)
}

// Holds implements gdpr.HoldStore.
func (s *GDPRStore) Holds(ctx context.Context, tenant eusaas.TenantID) ([]gdpr.LegalHold, error) {
	rows, err := s.db.q(ctx).Query(ctx, `SELECT id::text, reason, created_at, created_by FROM eusaas.gdpr_legal_holds
		WHERE tenant_id = $1 ORDER BY created_at, id`, tenant.UUID())
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []gdpr.LegalHold
	for rows.Next() {
		h := gdpr.LegalHold{TenantID: tenant}
		if err := rows.Scan(&h.ID, &h.Reason, &h.CreatedAt, &h.CreatedBy); err != nil {
			return nil, translate(err)
		}
		h.CreatedAt = h.CreatedAt.UTC()
		out = append(out, h)
	}
	return out, translate(rows.Err())
}

// PutHold implements gdpr.HoldStore.
func (s *GDPRStore) PutHold(ctx context.Context, h gdpr.LegalHold) error {
	_, err := s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.gdpr_legal_holds (id, tenant_id, reason, created_at, created_by)
		VALUES ($1, $2, $3, $4, $5)`, h.ID, h.TenantID.UUID(), h.Reason, h.CreatedAt, h.CreatedBy)
	return translate(err)
}

// DeleteHold implements gdpr.HoldStore.
func (s *GDPRStore) DeleteHold(ctx context.Context, tenant eusaas.TenantID, id string) error {
	tag, err := s.db.q(ctx).Exec(ctx, `DELETE FROM eusaas.gdpr_legal_holds WHERE id::text = $1 AND tenant_id = $2`, id, tenant.UUID())
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return eusaas.E(eusaas.NotFound, "legal hold not found")
	}
	return nil
}

func (s *GDPRStore) seal(m []byte) ([]byte, error) {
	if s.kek == nil {
		return m, nil
	}
	nonce := make([]byte, s.kek.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.kek.Seal(nonce, nonce, m, kekAAD), nil
}

var kekAAD = []byte("eusaas-gdpr-backup-key")

func openSealed(a cipher.AEAD, b []byte) ([]byte, error) {
	n := a.NonceSize()
	if len(b) < n {
		return nil, errors.New("gdpr: sealed key too short")
	}
	return a.Open(nil, b[:n], b[n:], kekAAD)
}

func (s *GDPRStore) unseal(b []byte) ([]byte, error) {
	if s.kek == nil || b == nil {
		return b, nil
	}
	m, err := openSealed(s.kek, b)
	for _, p := range s.previous {
		if err == nil {
			break
		}
		m, err = openSealed(p, b)
	}
	return m, err
}

// Reseal re-seals every live backup key with the current KEK (`eusaas gdpr rotate-kek`):
// keys sealed with a previous KEK, and keys stored unsealed by a server that ran without a
// KEK (their material is exactly 32 bytes; a sealed key is 60). Keys already sealed with
// the current KEK are left as they are, so a second run re-seals nothing. It runs in one
// transaction: a key that opens with no known KEK fails the whole run, naming the tenant.
func (s *GDPRStore) Reseal(ctx context.Context) (int, error) {
	if s.kek == nil {
		return 0, eusaas.E(eusaas.FailedPrecondition, "gdpr: re-sealing needs a current key-encryption key")
	}
	n := 0
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		rows, err := s.db.q(ctx).Query(ctx, `SELECT tenant_id, material FROM eusaas.gdpr_backup_keys
			WHERE material IS NOT NULL ORDER BY tenant_id FOR UPDATE`)
		if err != nil {
			return translate(err)
		}
		type row struct {
			id [16]byte
			m  []byte
		}
		var all []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.m); err != nil {
				rows.Close()
				return translate(err)
			}
			all = append(all, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return translate(err)
		}
		for _, r := range all {
			if _, err := openSealed(s.kek, r.m); err == nil {
				continue
			}
			var plain []byte
			for _, p := range s.previous {
				if m, err := openSealed(p, r.m); err == nil {
					plain = m
					break
				}
			}
			if plain == nil && len(r.m) == kekSize {
				plain = r.m // stored unsealed, before a KEK was configured
			}
			if plain == nil {
				return eusaas.Errorf(eusaas.FailedPrecondition,
					"gdpr: the backup key of tenant %s opens with neither the current nor a previous key-encryption key", uuid.UUID(r.id))
			}
			sealed, err := s.seal(plain)
			if err != nil {
				return err
			}
			if _, err := s.db.q(ctx).Exec(ctx, `UPDATE eusaas.gdpr_backup_keys SET material = $2 WHERE tenant_id = $1`, r.id, sealed); err != nil {
				return translate(err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// CreateKey implements gdpr.KeyStore.
func (s *GDPRStore) CreateKey(ctx context.Context, k gdpr.Key) error {
	m, err := s.seal(k.Material)
	if err != nil {
		return err
	}
	_, err = s.db.q(ctx).Exec(ctx, `INSERT INTO eusaas.gdpr_backup_keys (tenant_id, material, created_at, destroy_after)
		VALUES ($1, $2, $3, $4)`, k.TenantID.UUID(), m, k.CreatedAt, k.DestroyAfter)
	return translate(err)
}

// Key implements gdpr.KeyStore.
func (s *GDPRStore) Key(ctx context.Context, tenant eusaas.TenantID) (gdpr.Key, error) {
	k := gdpr.Key{TenantID: tenant}
	var destroyed *time.Time
	var m []byte
	err := s.db.q(ctx).QueryRow(ctx, `SELECT material, created_at, destroy_after, destroyed_at
		FROM eusaas.gdpr_backup_keys WHERE tenant_id = $1`, tenant.UUID()).Scan(&m, &k.CreatedAt, &k.DestroyAfter, &destroyed)
	if err != nil {
		return gdpr.Key{}, translate(err)
	}
	if k.Material, err = s.unseal(m); err != nil {
		return gdpr.Key{}, eusaas.E(eusaas.Internal, "gdpr: backup key does not unseal").Wrap(err)
	}
	k.CreatedAt, k.DestroyAfter = k.CreatedAt.UTC(), k.DestroyAfter.UTC()
	if destroyed != nil {
		k.DestroyedAt = destroyed.UTC()
	}
	return k, nil
}

// DestroyKey implements gdpr.KeyStore.
func (s *GDPRStore) DestroyKey(ctx context.Context, tenant eusaas.TenantID, at time.Time) error {
	tag, err := s.db.q(ctx).Exec(ctx, `UPDATE eusaas.gdpr_backup_keys SET material = NULL,
		destroyed_at = COALESCE(destroyed_at, $2) WHERE tenant_id = $1`, tenant.UUID(), at)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return eusaas.E(eusaas.NotFound, "backup key not found")
	}
	return nil
}

// DueKeys implements gdpr.KeyStore.
func (s *GDPRStore) DueKeys(ctx context.Context, now time.Time) ([]eusaas.TenantID, error) {
	rows, err := s.db.q(ctx).Query(ctx, `SELECT tenant_id FROM eusaas.gdpr_backup_keys
		WHERE material IS NOT NULL AND destroy_after <= $1 ORDER BY tenant_id::text`, now)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []eusaas.TenantID
	for rows.Next() {
		var id [16]byte
		if err := rows.Scan(&id); err != nil {
			return nil, translate(err)
		}
		out = append(out, eusaas.TenantID(id))
	}
	return out, translate(rows.Err())
}

// GDPRData implements gdpr.TenantData, subject lookup, gdpr.Retainer and gdpr.SchemaDropper
// generically over every table in the tenant's schema, found through the catalog.
//
// Conventions: a column commented 'gdpr:subject' is its table's subject column; otherwise the
// first of data_subject_id, subject_id, user_id the table has, or id for a table named users or *_users (auth_users).
// A column commented 'gdpr:secret' (password hashes, token hashes) is never exported: it is
// not the data subject's data but a credential, and an export must not leak it. Tables with
// created_at and deleted_at columns take part in retention (pii_retention_days when they have
// a subject column, else default_retention_days).
//
// What retention touches in the module tables, and what it deliberately keeps:
//   - anomalies (created_at = detected_at, deleted_at; 0051): soft-deleted past
//     default_retention_days, hard-deleted after the grace period.
//   - auth_sessions, auth_invitations (expires_at): hard-deleted once expired for longer
//     than the grace period. Accounts (auth_users) end through subject erasure.
//   - billing_usage_events (the raw events, kept as dedup rows) are not touched here:
//     billing's own PurgeDedup deletes them after its dedup window (>= 35 days, 36 by
//     default), and their aggregate lives on in billing_usage_buckets.
//   - billing_invoices, billing_invoice_lines, billing_usage_buckets, billing_usage_months:
//     kept, they have no deleted_at on purpose. Invoices are accounting records under the
//     legal retention duties of commercial and tax law (in Germany HGB §257, AO §147), which
//     a tenant's policy cannot shorten; buckets and months are the rated usage that invoices
//     and cost reports are computed from. Personal data in them is pseudonymised by subject
//     erasure instead.
//   - The audit chain (platform schema, not here) is never deleted: deleting entries would
//     break its tamper evidence. Its personal side data (emails, IPs, user agents) is
//     erased past audit_log_retention_days by the audit module's retainer.
type GDPRData struct {
	db *DB
}

var (
	_ gdpr.TenantData    = (*GDPRData)(nil)
	_ gdpr.Retainer      = (*GDPRData)(nil)
	_ gdpr.SchemaDropper = (*GDPRData)(nil)
)

// NewGDPRData returns the generic tenant data adapter.
func NewGDPRData(db *DB) *GDPRData { return &GDPRData{db: db} }

type gdprTable struct {
	gdpr.Table
	created, deleted, expires bool
}

func (d *GDPRData) tables(ctx context.Context, tenant eusaas.TenantID) ([]gdprTable, error) {
	rows, err := d.db.q(ctx).Query(ctx, `SELECT c.relname, a.attname, coalesce(col_description(c.oid, a.attnum), '')
		FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		ORDER BY c.relname, a.attnum`, tenant.SchemaName())
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []gdprTable
	for rows.Next() {
		var table, col, comment string
		if err := rows.Scan(&table, &col, &comment); err != nil {
			return nil, translate(err)
		}
		if len(out) == 0 || out[len(out)-1].Name != table {
			out = append(out, gdprTable{Table: gdpr.Table{Name: table}})
		}
		t := &out[len(out)-1]
		switch {
		case strings.Contains(comment, "gdpr:secret"):
			continue
		case strings.Contains(comment, "gdpr:subject"):
			t.SubjectColumn = col
		}
		t.Columns = append(t.Columns, col)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	for i := range out {
		t := &out[i]
		for _, c := range []string{"data_subject_id", "subject_id", "user_id"} {
			if t.SubjectColumn != "" {
				break
			}
			if slices.Contains(t.Columns, c) {
				t.SubjectColumn = c
				break
			}
		}
		if t.SubjectColumn == "" && (t.Name == "users" || strings.HasSuffix(t.Name, "_users")) && slices.Contains(t.Columns, "id") {
			t.SubjectColumn = "id"
		}
		t.created, t.deleted = slices.Contains(t.Columns, "created_at"), slices.Contains(t.Columns, "deleted_at")
		t.expires = slices.Contains(t.Columns, "expires_at")
	}
	return out, nil
}

// Tables implements gdpr.TenantData.
func (d *GDPRData) Tables(ctx context.Context, tenant eusaas.TenantID) ([]gdpr.Table, error) {
	ts, err := d.tables(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]gdpr.Table, len(ts))
	for i, t := range ts {
		out[i] = t.Table
	}
	return out, nil
}

func gdprIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// gdprResultFormats asks for the binary form of the types Scan decodes from it (fixed-width
// numbers, booleans, times, uuid, bytea) and the text form of everything else: numeric's
// text is its exact decimal, json/jsonb's text is the document, and Postgres's text is the
// faithful rendering of types without a DataRow equivalent (inet, interval, enums, citext).
var gdprResultFormats = pgx.QueryResultFormatsByOID{
	pgtype.Int2OID: pgx.BinaryFormatCode, pgtype.Int4OID: pgx.BinaryFormatCode, pgtype.Int8OID: pgx.BinaryFormatCode,
	pgtype.Float4OID: pgx.BinaryFormatCode, pgtype.Float8OID: pgx.BinaryFormatCode, pgtype.BoolOID: pgx.BinaryFormatCode,
	pgtype.TimestamptzOID: pgx.BinaryFormatCode, pgtype.TimestampOID: pgx.BinaryFormatCode, pgtype.DateOID: pgx.BinaryFormatCode,
	pgtype.UUIDOID: pgx.BinaryFormatCode, pgtype.ByteaOID: pgx.BinaryFormatCode,
}

// Scan implements gdpr.TenantData with typed values, mapped from each column's type:
//
//	smallint, integer, bigint            int64
//	real, double precision               float64
//	numeric                              eusaas.Decimal (Postgres's exact text, "12.50")
//	boolean                              bool
//	timestamptz, timestamp               time.Time, UTC (timestamp: its wall clock as UTC)
//	date                                 eusaas.Date
//	json, jsonb                          json.RawMessage (the document as Postgres prints it)
//	bytea                                string, standard base64 (a DataRow has no bytes)
//	arrays                               json.RawMessage of a JSON array of the elements,
//	                                     mapped as above (multi-dimensional arrays flattened)
//	uuid, text, varchar, inet, citext,   string (Postgres's text form)
//	enums and every other type
//
// ±infinity timestamps and dates are the strings "infinity" / "-infinity". The subject
// filter still compares the subject column as text (ids arrive as text).
func (d *GDPRData) Scan(ctx context.Context, tenant eusaas.TenantID, t gdpr.Table, subjects []string, fn func(eusaas.DataRow) error) error {
	if len(t.Columns) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(gdprIdent(c))
	}
	b.WriteString(" FROM " + gdprIdent(t.Name))
	args := []any{gdprResultFormats}
	if len(subjects) > 0 {
		if t.SubjectColumn == "" {
			return nil
		}
		b.WriteString(" WHERE " + gdprIdent(t.SubjectColumn) + "::text = ANY($1)")
		args = append(args, subjects)
	}
	return d.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, b.String(), args...)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		fields := rows.FieldDescriptions()
		m := tx.Conn().TypeMap()
		out := make(eusaas.DataRow, len(fields))
		for rows.Next() {
			for i, raw := range rows.RawValues() {
				v, err := gdprValue(m, fields[i].DataTypeOID, fields[i].Format, raw)
				if err != nil {
					return eusaas.E(eusaas.Internal, "gdpr: cannot decode "+t.Name+"."+fields[i].Name).Wrap(err)
				}
				out[i] = v
			}
			if err := fn(out); err != nil {
				return err
			}
		}
		return translate(rows.Err())
	})
}

// gdprValue maps one column value (raw in format) to the eusaas.DataRow value set.
func gdprValue(m *pgtype.Map, oid uint32, format int16, raw []byte) (any, error) {
	if raw == nil {
		return nil, nil
	}
	if format == pgx.BinaryFormatCode {
		switch oid {
		case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.Float4OID, pgtype.Float8OID, pgtype.BoolOID:
			return gdprFixed(oid, raw)
		case pgtype.UUIDOID:
			if len(raw) != 16 {
				return nil, errors.New("uuid of " + strconv.Itoa(len(raw)) + " bytes")
			}
			return uuid.UUID(raw).String(), nil
		case pgtype.ByteaOID:
			return base64.StdEncoding.EncodeToString(raw), nil
		}
	} else {
		switch oid {
		case pgtype.NumericOID:
			return eusaas.Decimal(raw), nil
		case pgtype.JSONOID, pgtype.JSONBOID:
			return json.RawMessage(slices.Clone(raw)), nil
		}
	}
	typ, ok := m.TypeForOID(oid)
	if !ok { // enums, extension types (citext): Postgres's text
		return string(raw), nil
	}
	switch oid {
	case pgtype.TimestamptzOID, pgtype.TimestampOID, pgtype.DateOID:
		v, err := typ.Codec.DecodeValue(m, oid, format, raw)
		if err != nil {
			return nil, err
		}
		return gdprTimeValue(oid, v), nil
	}
	if ac, ok := typ.Codec.(*pgtype.ArrayCodec); ok {
		v, err := ac.DecodeValue(m, oid, format, raw)
		if err != nil {
			return nil, err
		}
		elems, _ := v.([]any)
		out := make([]any, len(elems))
		for i, e := range elems {
			if out[i], err = gdprArrayElem(ac.ElementType.OID, e); err != nil {
				return nil, err
			}
		}
		doc, err := json.Marshal(out)
		return json.RawMessage(doc), err
	}
	if format == pgx.BinaryFormatCode { // not requested: a type registered after the formats
		v, err := typ.Codec.DecodeValue(m, oid, format, raw)
		if err != nil {
			return nil, err
		}
		return fmt.Sprint(v), nil
	}
	return string(raw), nil
}

// gdprFixed decodes the binary form of the fixed-width types.
func gdprFixed(oid uint32, raw []byte) (any, error) {
	want := map[uint32]int{pgtype.Int2OID: 2, pgtype.Int4OID: 4, pgtype.Int8OID: 8, pgtype.Float4OID: 4, pgtype.Float8OID: 8, pgtype.BoolOID: 1}[oid]
	if len(raw) != want {
		return nil, errors.New("value of " + strconv.Itoa(len(raw)) + " bytes for a " + strconv.Itoa(want) + "-byte type")
	}
	switch oid {
	case pgtype.Int2OID:
		return int64(int16(binary.BigEndian.Uint16(raw))), nil
	case pgtype.Int4OID:
		return int64(int32(binary.BigEndian.Uint32(raw))), nil
	case pgtype.Int8OID:
		return int64(binary.BigEndian.Uint64(raw)), nil
	case pgtype.Float4OID:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(raw))), nil
	case pgtype.Float8OID:
		return math.Float64frombits(binary.BigEndian.Uint64(raw)), nil
	default:
		return raw[0] != 0, nil
	}
}

// gdprTimeValue maps a decoded timestamptz, timestamp or date.
func gdprTimeValue(oid uint32, v any) any {
	t, ok := v.(time.Time)
	if !ok { // pgtype.InfinityModifier
		return fmt.Sprint(v)
	}
	if oid == pgtype.DateOID {
		return eusaas.Date(t.Format(time.DateOnly))
	}
	return t.UTC()
}

// gdprArrayElem maps an array element decoded by pgx to a JSON value by the same rules as a
// column (decimals and times as strings).
func gdprArrayElem(elemOID uint32, e any) (any, error) {
	switch x := e.(type) {
	case nil, string, bool, int16, int32, int64, float32, float64:
		return x, nil
	case [16]byte:
		return uuid.UUID(x).String(), nil
	case []byte:
		return base64.StdEncoding.EncodeToString(x), nil
	case time.Time, pgtype.InfinityModifier:
		v := gdprTimeValue(elemOID, x)
		if t, ok := v.(time.Time); ok {
			return t.Format(time.RFC3339Nano), nil
		}
		return v, nil
	case pgtype.Numeric:
		v, err := x.Value()
		if err != nil {
			return nil, err
		}
		return v, nil // its exact text (a string)
	case netip.Prefix:
		if x.Bits() == x.Addr().BitLen() {
			return x.Addr().String(), nil // inet prints a host address without its mask
		}
		return x.String(), nil
	case map[string]any, []any:
		return x, nil // json/jsonb elements
	case fmt.Stringer:
		return x.String(), nil
	}
	return fmt.Sprint(e), nil
}

// DeleteAll implements gdpr.TenantData: counts, then one TRUNCATE of every table (so foreign
// keys between them are no obstacle).
func (d *GDPRData) DeleteAll(ctx context.Context, tenant eusaas.TenantID) (map[string]int, error) {
	ts, err := d.tables(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	if len(ts) == 0 {
		return out, nil
	}
	err = d.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		names := make([]string, len(ts))
		for i, t := range ts {
			names[i] = gdprIdent(t.Name)
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+names[i]).Scan(&n); err != nil {
				return translate(err)
			}
			out[t.Name] = n
		}
		_, err := tx.Exec(ctx, "TRUNCATE "+strings.Join(names, ", ")+" CASCADE")
		return translate(err)
	})
	return out, err
}

// HasSubject reports whether any subject-linked table has a row naming subject.
func (d *GDPRData) HasSubject(ctx context.Context, tenant eusaas.TenantID, subject string) (bool, error) {
	ts, err := d.tables(ctx, tenant)
	if err != nil {
		return false, err
	}
	found := false
	err = d.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		for _, t := range ts {
			if t.SubjectColumn == "" {
				continue
			}
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+gdprIdent(t.Name)+" WHERE "+
				gdprIdent(t.SubjectColumn)+"::text = $1)", subject).Scan(&found); err != nil {
				return translate(err)
			}
			if found {
				return nil
			}
		}
		return nil
	})
	return found, err
}

// EnforceRetention implements gdpr.Retainer for every tenant table with created_at and
// deleted_at columns, and for every table with expires_at (deleted after expiry + grace). Hard deletions run table by table under savepoints, repeated while
// any makes progress, so a table whose expired rows are still referenced by another
// table's (not yet deleted) rows waits for them instead of failing the run; rows still
// referenced at the end stay until a later run.
func (d *GDPRData) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	ts, err := d.tables(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	err = d.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		var pending []gdprTable
		for _, t := range ts {
			if t.created && t.deleted {
				pending = append(pending, t)
			}
		}
		for progress := true; progress && len(pending) > 0; {
			progress = false
			var blocked []gdprTable
			for _, t := range pending {
				n, err := gdprHardDelete(ctx, tx, t, now.Add(-grace), p.Restricted)
				var pg *pgconn.PgError
				if errors.As(err, &pg) && pg.Code == "23503" { // still referenced
					blocked = append(blocked, t)
					continue
				}
				if err != nil {
					return translate(err)
				}
				progress = true
				if n > 0 {
					out[t.Name+".hard_deleted"] = int(n)
				}
			}
			pending = blocked
		}
		// Rows with their own expires_at and no deleted_at (auth sessions and invitations):
		// an expired row can no longer be used, so expiry is its retention end (the soft
		// delete) and it is hard-deleted once the grace period has passed since.
		for _, t := range ts {
			if !t.expires || t.deleted {
				continue
			}
			n, err := gdprExpiredDelete(ctx, tx, t.Name, now.Add(-grace))
			var pg *pgconn.PgError
			if errors.As(err, &pg) && pg.Code == "23503" { // still referenced: a later run
				continue
			}
			if err != nil {
				return translate(err)
			}
			if n > 0 {
				out[t.Name+".hard_deleted"] = int(n)
			}
		}
		for _, t := range ts {
			if !t.created || !t.deleted {
				continue
			}
			days := p.DefaultRetentionDays
			if t.SubjectColumn != "" {
				days = p.PIIRetentionDays
			}
			soft, err := tx.Exec(ctx, "UPDATE "+gdprIdent(t.Name)+" SET deleted_at = $1 WHERE deleted_at IS NULL AND created_at < $2"+
				gdprNotRestricted(t, 3), now, now.AddDate(0, 0, -days), gdprRestricted(p.Restricted))
			if err != nil {
				return translate(err)
			}
			if n := soft.RowsAffected(); n > 0 {
				out[t.Name+".soft_deleted"] = int(n)
			}
		}
		return gdprPIIRetention(ctx, tx, ts, now.AddDate(0, 0, -p.PIIRetentionDays).Add(-grace), p.Restricted, out)
	})
	return out, err
}

// gdprHardDelete deletes a table's rows soft-deleted before cutoff under a savepoint, so a
// foreign key violation leaves the transaction usable.
func gdprHardDelete(ctx context.Context, tx pgx.Tx, t gdprTable, cutoff time.Time, restricted []string) (int64, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return 0, err
	}
	tag, err := sp.Exec(ctx, "DELETE FROM "+gdprIdent(t.Name)+" WHERE deleted_at < $1"+gdprNotRestricted(t, 2), cutoff, gdprRestricted(restricted))
	if err != nil {
		_ = sp.Rollback(ctx)
		return 0, err
	}
	return tag.RowsAffected(), sp.Commit(ctx)
}

// gdprExpiredDelete deletes a table's rows expired before cutoff under a savepoint.
func gdprExpiredDelete(ctx context.Context, tx pgx.Tx, table string, cutoff time.Time) (int64, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return 0, err
	}
	tag, err := sp.Exec(ctx, "DELETE FROM "+gdprIdent(table)+" WHERE expires_at < $1", cutoff)
	if err != nil {
		_ = sp.Rollback(ctx)
		return 0, err
	}
	return tag.RowsAffected(), sp.Commit(ctx)
}

// DropSchema implements gdpr.SchemaDropper.
func (d *GDPRData) DropSchema(ctx context.Context, id eusaas.TenantID) error {
	return d.db.DropTenantSchema(ctx, id)
}
