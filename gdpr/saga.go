package gdpr

import (
	"context"
	"crypto/rand"
	"errors"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/jobs"
)

// Deprovision implements tenancy's Deprovisioner: it starts the tenant erasure saga (Art. 17)
// and returns; the saga runs as a job and ends by calling Lifecycle.CompleteDeprovision.
// The saga record, the audit intent entry and the job are written in one transaction.
// A legal hold fails with ErrLegalHold (409) naming the hold. Calling it again for a tenant
// whose erasure exists is a no-op.
func (s *Service) Deprovision(ctx context.Context, id eusaas.TenantID) error {
	_, err := s.StartTenantErasure(ctx, id)
	return err
}

// CheckErasable reports ErrLegalHold when a hold blocks erasing the tenant; tenancy can call
// it before BeginDeprovision so a held tenant is not frozen at all.
func (s *Service) CheckErasable(ctx context.Context, id eusaas.TenantID) error {
	return s.checkHolds(ctx, id)
}

// StartTenantErasure is Deprovision returning the saga record. When the tenant's erasure
// exists it is returned; if unfinished, its job is enqueued again so an interrupted run
// resumes (a run racing another loses at its next stored step: updates compare versions).
func (s *Service) StartTenantErasure(ctx context.Context, id eusaas.TenantID) (Request, error) {
	if prev, err := s.d.Requests.TenantErasure(ctx, id); err == nil {
		if prev.Status == StatusCompleted {
			return prev, nil
		}
		return prev, s.d.Queue.Enqueue(ctx, JobTenantErasure, jobArgs{TenantID: id, RequestID: prev.ID},
			&jobs.EnqueueOpts{MaxAttempts: tenantErasureMaxAttempts})
	} else if eusaas.KindOf(err) != eusaas.NotFound {
		return Request{}, err
	}
	if err := s.checkHolds(ctx, id); err != nil {
		return Request{}, err
	}
	r := s.newRequest(ctx, id, KindTenantErasure)
	for step := StepFreeze; step <= StepMarkDeleted; step++ {
		r.Steps = append(r.Steps, StepState{Step: step, Name: StepNames[step]})
	}
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		ce, err := s.record(ctx, eusaas.AuditEvent{TenantID: id, Action: ActionTenantErasureRequested, ResourceType: resourceTenant,
			ResourceID: id.String(), Changes: map[string]any{"request_id": r.ID, "steps": len(r.Steps)}})
		if err != nil {
			return err
		}
		r.AuditEntries = []CertifiedEntry{ce}
		if err := s.d.Requests.CreateRequest(ctx, r); err != nil {
			return err
		}
		return s.d.Queue.Enqueue(ctx, JobTenantErasure, jobArgs{TenantID: id, RequestID: r.ID},
			&jobs.EnqueueOpts{MaxAttempts: tenantErasureMaxAttempts})
	})
	if eusaas.KindOf(err) == eusaas.AlreadyExists {
		// A concurrent request won the race; answer with its saga.
		return s.d.Requests.TenantErasure(ctx, id)
	}
	return r, err
}

// TenantErasure returns the tenant's erasure saga with its certificate (for operators, also
// after the tenant is deleted).
func (s *Service) TenantErasure(ctx context.Context, id eusaas.TenantID) (Request, error) {
	r, err := s.d.Requests.TenantErasure(ctx, id)
	if eusaas.KindOf(err) == eusaas.NotFound && err != nil {
		return Request{}, ErrTenantNotErased
	}
	return r, err
}

// BackupKeyStatus reports whether the tenant's backup key still exists and when it was or
// will be destroyed.
func (s *Service) BackupKeyStatus(ctx context.Context, id eusaas.TenantID) (destroyAfter, destroyedAt time.Time, err error) {
	k, err := s.d.Keys.Key(ctx, id)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return k.DestroyAfter, k.DestroyedAt, nil
}

// RunTenantErasure runs or resumes the tenant's erasure saga. Every step is idempotent and
// its completion is stored before the next starts, so after a crash the run resumes at the
// first step not stored as done. It is what the JobTenantErasure handler calls.
func (s *Service) RunTenantErasure(ctx context.Context, id eusaas.TenantID) error {
	mu := s.tenantLock(id)
	mu.Lock()
	defer mu.Unlock()
	r, err := s.d.Requests.TenantErasure(ctx, id)
	if err != nil {
		if eusaas.KindOf(err) == eusaas.NotFound {
			return nil
		}
		return err
	}
	if r.Status == StatusCompleted {
		return nil
	}
	if r.Status == StatusPending {
		r.Status = StatusProcessing
		if err := s.d.Requests.UpdateRequest(ctx, &r); err != nil {
			return err
		}
	}
	for i := range r.Steps {
		st := &r.Steps[i]
		if st.Done {
			continue
		}
		if err := s.checkpoint(ctx, "tenant_erasure/"+StepNames[st.Step]); err != nil {
			return err
		}
		if err := s.runStep(ctx, &r, st); err != nil {
			return err
		}
		if s.o.AfterStep != nil {
			if err := s.o.AfterStep(id, st.Step); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) markDone(r *Request, st *StepState, counts map[string]int) {
	st.Done, st.DoneAt, st.Counts = true, s.clock.Now(), counts
	r.Progress = st.Step * 100 / len(r.Steps)
}

func (s *Service) runStep(ctx context.Context, r *Request, st *StepState) error {
	id := r.TenantID
	switch st.Step {
	case StepFreeze:
		if s.d.Lifecycle != nil {
			if err := s.d.Lifecycle.BeginDeprovision(ctx, id); err != nil {
				return err
			}
		}
	case StepBackup:
		counts, err := s.backup(ctx, r)
		if err != nil {
			return err
		}
		s.markDone(r, st, counts)
		return s.d.Requests.UpdateRequest(ctx, r)
	case StepDeleteData:
		counts, err := s.d.Data.DeleteAll(ctx, id)
		if err != nil {
			return err
		}
		if err := s.checkpoint(ctx, pointDeleteExports); err != nil {
			return err
		}
		// Export archives are copies of the tenant's data: they go with it, and their
		// download URLs answer 404 from now on.
		n, err := s.eraseExports(ctx, id, func(Request) bool { return true })
		if err != nil {
			return err
		}
		if counts == nil {
			counts = map[string]int{}
		}
		counts[CountExports] = n
		// Data-subject requests stay as the accountability record, without the contact
		// details of the tenant's people.
		if n, err := s.scrubDSRs(ctx, id, ""); err != nil {
			return err
		} else if n > 0 {
			counts[CountDSRContacts] = n
		}
		// Queued work about the tenant (this saga's own job excepted) would find it gone.
		if qc, ok := s.d.Queue.(jobs.TenantCanceler); ok {
			n, err := qc.CancelTenant(ctx, id.String(), JobTenantErasure)
			if err != nil {
				return err
			}
			counts[CountJobs] = n
		}
		if te, ok := s.d.AuditEraser.(TenantAuditEraser); ok {
			n, err := te.EraseTenantPersonal(ctx, id)
			if err != nil {
				return err
			}
			counts[CountAuditPersonal] = n
		}
		s.markDone(r, st, counts)
		return s.d.Requests.UpdateRequest(ctx, r)
	case StepDropSchema:
		if s.d.Schemas != nil {
			if err := s.d.Schemas.DropSchema(ctx, id); err != nil {
				return err
			}
		}
	case StepPurgeCache:
		if s.d.Cache != nil {
			if err := s.d.Cache.PurgeTenant(ctx, id); err != nil {
				return err
			}
		}
	case StepAuditEntry:
		// The completion entry and the step's state commit together, so a crash cannot
		// leave the entry written twice.
		return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
			deleted, tables := 0, 0
			for k, n := range r.Steps[StepDeleteData-1].Counts {
				if k != CountExports && k != CountAuditPersonal && k != CountJobs && k != CountDSRContacts {
					deleted += n
					tables++
				}
			}
			changes := map[string]any{"request_id": r.ID, "rows_deleted": deleted, "tables": tables,
				"exports_deleted":        r.Steps[StepDeleteData-1].Counts[CountExports],
				"audit_personal_deleted": r.Steps[StepDeleteData-1].Counts[CountAuditPersonal],
				"jobs_canceled":          r.Steps[StepDeleteData-1].Counts[CountJobs]}
			if r.Backup != nil {
				changes["backup_key_id"] = r.Backup.KeyID
				changes["backup_key_destroy_after"] = r.Backup.DestroyAfter.Format(time.RFC3339)
			}
			ce, err := s.record(ctx, eusaas.AuditEvent{TenantID: id, Actor: eusaas.System, Action: ActionTenantErasureCompleted,
				ResourceType: resourceTenant, ResourceID: id.String(), Changes: changes})
			if err != nil {
				return err
			}
			c := *r
			c.AuditEntries = append(append([]CertifiedEntry(nil), r.AuditEntries...), ce)
			c.Steps = append([]StepState(nil), r.Steps...)
			s.markDone(&c, &c.Steps[st.Step-1], nil)
			if err := s.d.Requests.UpdateRequest(ctx, &c); err != nil {
				return err
			}
			*r = c
			*st = c.Steps[st.Step-1]
			return nil
		})
	case StepMarkDeleted:
		if s.d.Lifecycle != nil {
			if err := s.d.Lifecycle.CompleteDeprovision(ctx, id); err != nil {
				return err
			}
		}
		s.markDone(r, st, nil)
		now := s.clock.Now()
		counts := map[string]int{}
		for k, v := range r.Steps[StepDeleteData-1].Counts {
			counts[k] = v
		}
		cert, err := signCertificate(s.o.SigningKey, Certificate{Type: KindTenantErasure, RequestID: r.ID, TenantID: id.String(),
			RequestedAt: r.RequestedAt, CompletedAt: now, Steps: r.Steps, Counts: counts, Backup: r.Backup,
			AuditEntries: r.AuditEntries, Retained: []string{"audit log (platform schema; personal data erasable per subject)",
				"encrypted backup until its key is destroyed (crypto-shredding)", "this certificate"}})
		if err != nil {
			return err
		}
		r.Status, r.CompletedAt, r.Counts, r.Certificate, r.Progress = StatusCompleted, now, counts, cert, 100
		return s.d.Requests.UpdateRequest(ctx, r)
	default:
		return errors.New("gdpr: unknown saga step")
	}
	s.markDone(r, st, nil)
	return s.d.Requests.UpdateRequest(ctx, r)
}

// backup writes the step-two backup: the whole tenant as a signed JSON archive, sealed with
// AES-256-GCM under the tenant's own key. The key is destroyed when the policy's
// backup_retention_days pass (ShredKeys), after which the backup is unreadable.
func (s *Service) backup(ctx context.Context, r *Request) (map[string]int, error) {
	id := r.TenantID
	k, err := s.d.Keys.Key(ctx, id)
	if eusaas.KindOf(err) == eusaas.NotFound && err != nil {
		p, perr := s.RetentionPolicy(ctx, id)
		if perr != nil {
			return nil, perr
		}
		material := make([]byte, 32)
		if _, err := rand.Read(material); err != nil {
			return nil, err
		}
		now := s.clock.Now()
		k = Key{TenantID: id, Material: material, CreatedAt: now, DestroyAfter: now.AddDate(0, 0, p.BackupRetentionDays)}
		if err := s.d.Keys.CreateKey(ctx, k); err != nil {
			if eusaas.KindOf(err) != eusaas.AlreadyExists {
				return nil, err
			}
			k, err = s.d.Keys.Key(ctx, id)
			if err != nil {
				return nil, err
			}
		}
	} else if err != nil {
		return nil, err
	}
	if k.Material == nil {
		return nil, eusaas.E(eusaas.FailedPrecondition, "backup key already destroyed")
	}
	name := "backups/" + id.String() + "/" + r.ID + ".zip.gcm"
	b := Request{ID: r.ID, TenantID: id, Kind: KindTenantErasure, Format: FormatJSON}
	sum, err := s.writeArchive(ctx, &b, name, k.Material)
	if err != nil {
		return nil, err
	}
	r.Backup = &BackupInfo{Archive: name, Cipher: "AES-256-GCM", KeyID: KeyID(k.Material), SHA256: sum, DestroyAfter: k.DestroyAfter}
	return b.Counts, nil
}

// ShredKeys destroys backup keys whose retention passed and removes their backups: the
// crypto-shredding of erased tenants' backups. A tenant under a legal hold keeps its key and
// backup until the hold is released (the next run after that shreds them).
func (s *Service) ShredKeys(ctx context.Context) error {
	ids, err := s.d.Keys.DueKeys(ctx, s.clock.Now())
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if _, held, err := s.activeHold(ctx, id); err != nil || held {
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if r, err := s.d.Requests.TenantErasure(ctx, id); err == nil && r.Backup != nil {
			if err := s.d.Archives.Delete(ctx, r.Backup.Archive); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := s.d.Keys.DestroyKey(ctx, id, s.clock.Now()); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := s.record(ctx, eusaas.AuditEvent{TenantID: id, Actor: eusaas.System, Action: ActionBackupKeyDestroyed,
			ResourceType: resourceTenant, ResourceID: id.String()}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
