package gdpr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/eusaas/eusaas"
)

// Exports (Art. 20): request, background run, archive, download and cleanup.

// RequestExport records an export request and enqueues its job in the same transaction.
// Subjects must be data subjects of the tenant (422 naming the entry otherwise).
//
// With the data-subject request workflow configured, an export of exactly one subject is
// also recorded as that subject's PORTABILITY request, verified by the caller.
func (s *Service) RequestExport(ctx context.Context, tenant eusaas.TenantID, in ExportRequest) (Request, error) {
	return s.requestExport(ctx, tenant, in, "")
}

// requestExport is RequestExport; dsr names the data-subject request it works for (none
// is then created).
func (s *Service) requestExport(ctx context.Context, tenant eusaas.TenantID, in ExportRequest, dsr string) (Request, error) {
	in.Format = Format(strings.ToLower(string(in.Format)))
	if in.Format == "" {
		in.Format = FormatJSON
	}
	if err := in.Validate(); err != nil {
		return Request{}, err
	}
	if err := s.checkSubjects(ctx, tenant, in.Subjects, "body.data_subjects"); err != nil {
		return Request{}, err
	}
	r := s.newRequest(ctx, tenant, KindExport)
	r.Format, r.Subjects, r.IncludeAuditLogs, r.Access = in.Format, in.Subjects, in.IncludeAuditLogs, in.Access
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Requests.CreateRequest(ctx, r); err != nil {
			return err
		}
		if _, err := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Action: ActionExportRequested, ResourceType: resourceGDPR,
			ResourceID: r.ID, Changes: map[string]any{"format": string(r.Format), "subjects": len(r.Subjects), "include_audit_logs": r.IncludeAuditLogs}}); err != nil {
			return err
		}
		if err := s.d.Queue.Enqueue(ctx, JobExport, jobArgs{TenantID: tenant, RequestID: r.ID}, nil); err != nil {
			return err
		}
		if dsr == "" && len(r.Subjects) == 1 {
			return s.implicitDSR(ctx, tenant, DSRPortability, r)
		}
		return nil
	})
	return r, err
}

// DownloadURL returns the download URL of a completed export: a signed token valid until
// the export expires. Empty when the export is not downloadable.
func (s *Service) DownloadURL(r Request) string {
	if r.Kind != KindExport || r.Status != StatusCompleted {
		return ""
	}
	return strings.TrimSuffix(s.o.BaseURL, "/") + "/api/v1/gdpr/downloads/" + signToken(s.o.SigningKey,
		tokenPayload{RequestID: r.ID, TenantID: r.TenantID.String(), Expires: r.ExpiresAt.Unix()})
}

// OpenDownload checks a download token and opens the archive it names.
func (s *Service) OpenDownload(ctx context.Context, token string) (io.ReadCloser, int64, Request, error) {
	p, err := verifyToken(s.PublicKey(), token, s.clock.Now())
	if err != nil {
		return nil, 0, Request{}, err
	}
	tenant, err := eusaas.ParseTenantID(p.TenantID)
	if err != nil {
		return nil, 0, Request{}, ErrBadToken
	}
	r, err := s.Request(ctx, tenant, KindExport, p.RequestID)
	if err != nil {
		return nil, 0, Request{}, err
	}
	if r.Status == StatusExpired && r.Archive == "" {
		return nil, 0, Request{}, ErrNotFound.Withf("the export was erased")
	}
	if r.Status != StatusCompleted {
		return nil, 0, r, ErrNotReady.Withf("the export is %s", r.Status)
	}
	rc, n, err := s.d.Archives.Open(ctx, r.Archive)
	return rc, n, r, err
}

func (s *Service) runExport(ctx context.Context, tenant eusaas.TenantID, id string, lastAttempt bool) error {
	r, err := s.d.Requests.Request(ctx, tenant, id)
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return nil // nothing to do: the record never committed or was removed
		}
		return err
	}
	if r.Done() {
		return s.jobFinished(ctx, r) // a crash after the export completed left its request open
	}
	r.Status, r.Progress = StatusProcessing, 0
	if err := s.d.Requests.UpdateRequest(ctx, &r); err != nil {
		return err
	}
	name := "exports/" + tenant.String() + "/" + r.ID + ".zip"
	sum, err := s.writeArchive(ctx, &r, name, nil)
	if err != nil {
		k := eusaas.KindOf(err)
		if !lastAttempt && k != eusaas.InvalidArgument && k != eusaas.NotFound {
			return err // retried with backoff
		}
		r.Status, r.CompletedAt = StatusFailed, s.clock.Now()
		r.ErrorMessage = "export failed"
		if m := eusaas.MessageOf(err); m != "" {
			r.ErrorMessage += ": " + m
		}
		return s.d.Requests.UpdateRequest(ctx, &r)
	}
	if err := s.checkpoint(ctx, pointExportCommitted); err != nil {
		return err
	}
	now := s.clock.Now()
	r.Status, r.Progress, r.CompletedAt, r.ExpiresAt = StatusCompleted, 100, now, now.Add(s.o.ExportTTL)
	r.Archive, r.ArchiveSHA256 = name, sum
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Requests.UpdateRequest(ctx, &r); err != nil {
			return err
		}
		_, err := s.record(ctx, eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: ActionExportCompleted,
			ResourceType: resourceGDPR, ResourceID: r.ID, Changes: map[string]any{"counts": r.Counts, "sha256": sum}})
		if err != nil {
			return err
		}
		return s.jobFinished(ctx, r)
	})
}

// writeArchive writes the export archive of r under name: every table (or the subject
// rows) plus, when asked, the audit log. With key, the archive is sealed with AES-GCM
// (the erasure backup). It fills r.Counts and returns the archive file's SHA-256.
func (s *Service) writeArchive(ctx context.Context, r *Request, name string, key []byte) (string, error) {
	tables, err := s.d.Data.Tables(ctx, r.TenantID)
	if err != nil {
		return "", err
	}
	if len(r.Subjects) > 0 {
		kept := tables[:0]
		for _, t := range tables {
			if t.SubjectColumn != "" {
				kept = append(kept, t)
			}
		}
		tables = kept
	}
	if key == nil {
		// Exports leave secrets out (password and token hashes); the sealed backup keeps
		// everything, since it exists to restore.
		for i := range tables {
			tables[i].Columns = slices.DeleteFunc(slices.Clone(tables[i].Columns), SecretColumn)
		}
	}
	// Only the lease holder writes name: what a crashed run left of it is an orphan.
	if pr, ok := s.d.Archives.(PartialRemover); ok {
		if err := pr.RemovePartial(ctx, name); err != nil {
			return "", err
		}
	}
	w, err := s.d.Archives.Create(ctx, name)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	var out io.Writer = io.MultiWriter(w, h)
	var seal *sealWriter
	if key != nil {
		if seal, err = newSealWriter(out, key); err != nil {
			_ = w.Abort()
			return "", err
		}
		out = seal
	}
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name
	}
	aw := newArchiveWriter(out, Manifest{TenantID: r.TenantID.String(), RequestID: r.ID, Format: r.Format,
		Subjects: r.Subjects, CreatedAt: s.clock.Now(), Tables: names}, s.o.SigningKey)
	r.Counts = map[string]int{}
	fail := func(err error) (string, error) {
		_ = w.Abort()
		return "", err
	}
	for i, t := range tables {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		rows, err := s.writeTable(ctx, aw, r, t)
		if err != nil {
			return fail(err)
		}
		r.Counts[t.Name] = int(rows)
		if i == 0 {
			point := pointExportArchive
			if r.Kind == KindTenantErasure {
				point = pointBackupArchive
			}
			if err := s.checkpoint(ctx, point); err != nil {
				return fail(err)
			}
		}
		if r.Kind == KindExport {
			r.Progress = (i + 1) * 90 / max(len(tables), 1)
			if err := s.d.Requests.UpdateRequest(ctx, r); err != nil {
				return fail(err)
			}
		}
	}
	if r.IncludeAuditLogs && s.d.Audit != nil {
		if err := s.writeAudit(ctx, aw, r); err != nil {
			return fail(err)
		}
	}
	if r.Access && key == nil {
		if err := s.writeAccessInfo(aw, r, names); err != nil {
			return fail(err)
		}
	}
	if err := aw.close(); err != nil {
		return fail(err)
	}
	if seal != nil {
		if err := seal.Close(); err != nil {
			return fail(err)
		}
	}
	if err := w.Commit(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SecretColumn reports whether a column holds a secret that an export must not carry:
// password*, *_hash (password and token hashes), *secret*, *token* other than ids.
func SecretColumn(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "password") || strings.HasSuffix(n, "_hash") || strings.Contains(n, "secret") ||
		(strings.Contains(n, "token") && !strings.HasSuffix(n, "_id"))
}

func fileName(table string, f Format) string {
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 {
			return '_'
		}
		return r
	}, table)
	return "data/" + safe + "." + string(f)
}

func (s *Service) writeTable(ctx context.Context, aw *archiveWriter, r *Request, t Table) (int64, error) {
	name := fileName(t.Name, r.Format)
	m, err := aw.create(name)
	if err != nil {
		return 0, err
	}
	enc := newEncoder(r.Format, m.bw, t.Name)
	if err := enc.begin(t.Columns); err != nil {
		return 0, err
	}
	ts := aw.describeTable(name, t.Name, t.Columns)
	var rows int64
	err = s.d.Data.Scan(ctx, r.TenantID, t, r.Subjects, func(values eusaas.DataRow) error {
		rows++
		ts.observe(values)
		return enc.row(values)
	})
	if err != nil {
		return 0, err
	}
	if err := enc.end(); err != nil {
		return 0, err
	}
	return rows, aw.finish(m, name, t.Name, rows)
}

func (s *Service) writeAudit(ctx context.Context, aw *archiveWriter, r *Request) error {
	const name = "audit/entries.json"
	m, err := aw.create(name)
	if err != nil {
		return err
	}
	var rows int64
	if _, err := m.bw.WriteString("["); err != nil {
		return err
	}
	entries := s.d.Audit.Entries
	if len(r.Subjects) > 0 {
		// Only the listed subjects' data: never the whole tenant's log (other persons' IP
		// addresses, e-mails).
		entries = func(context.Context, eusaas.TenantID, func([]byte) error) error { return nil }
		if sa, ok := s.d.Audit.(SubjectAuditSource); ok {
			entries = func(ctx context.Context, tenant eusaas.TenantID, fn func([]byte) error) error {
				return sa.SubjectEntries(ctx, tenant, r.Subjects, fn)
			}
		}
	}
	err = entries(ctx, r.TenantID, func(entry []byte) error {
		if rows > 0 {
			if err := m.bw.WriteByte(','); err != nil {
				return err
			}
		}
		rows++
		if _, err := m.bw.WriteString("\n"); err != nil {
			return err
		}
		_, err := m.bw.Write(entry)
		return err
	})
	if err != nil {
		return err
	}
	if _, err := m.bw.WriteString("\n]\n"); err != nil {
		return err
	}
	if err := aw.finish(m, name, "", rows); err != nil {
		return err
	}
	aw.describeFile(name, auditEntriesSchema)
	r.Counts["audit_entries"] = int(rows)
	cp, err := s.d.Audit.LatestCheckpoint(ctx, r.TenantID)
	if err != nil && eusaas.KindOf(err) != eusaas.NotFound {
		return err
	}
	if len(cp) == 0 {
		cp = []byte("null")
	}
	const cpName = "audit/checkpoint.json"
	cm, err := aw.create(cpName)
	if err != nil {
		return err
	}
	if _, err := cm.bw.Write(cp); err != nil {
		return err
	}
	aw.describeFile(cpName, auditCheckpointSchema)
	return aw.finish(cm, cpName, "", 1)
}

// CleanupExports removes archives of exports past their expiry and marks them EXPIRED.
func (s *Service) CleanupExports(ctx context.Context) error {
	rs, err := s.d.Requests.ExpiredExports(ctx, s.clock.Now())
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		if err := s.d.Archives.Delete(ctx, r.Archive); err != nil {
			errs = append(errs, err)
			continue
		}
		r.Status = StatusExpired
		if err := s.d.Requests.UpdateRequest(ctx, &r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
