package platform

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/tenancy"
)

// gdprDeps connects gdpr to every other module: tenancy's lifecycle, active tenants, caches
// and (unless the stores drop schemas themselves) its provisioner; auth, audit and billing
// subject erasure; the audit chain for exports; audit personal values for retention.
func gdprDeps(s Stores, p *Platform) gdpr.Deps {
	d := gdpr.Deps{Tx: s.Tx, Requests: s.Requests, Policies: s.Policies, Holds: s.Holds, Keys: s.BackupKeys, Archives: s.Archives, Data: s.TenantData,
		Queue: s.Queue, Recorder: HashRecorder{p.Audit}, Subjects: s.Subjects, Lifecycle: p.Tenancy, Schemas: s.Schemas,
		Cache: cachePurgers(append([]gdpr.CachePurger{tenantCache{p.Tenancy}}, s.Purgers...)), Tenants: TenantIDs{p.Tenancy},
		Audit: AuditSource{p.Audit}, Users: p.Auth, AuditEraser: p.Audit, Billing: p.Billing,
		Retainers: append([]gdpr.Retainer{AuditRetainer{p.Audit}}, s.Retainers...), DSRs: s.DSRs, Breaches: s.Breaches, Leases: s.Leases}
	if us, ok := s.Usage.(AttributeEraser); ok {
		d.Retainers = append(d.Retainers, UsageRetainer{Store: us, Days: func(ctx context.Context, id eusaas.TenantID) (int, error) {
			t, err := p.Tenancy.Get(ctx, id)
			return t.Settings.DataRetentionDays, err
		}})
	}
	if d.Subjects == nil {
		d.Subjects = UserSubjects{p.Auth}
	}
	if d.Schemas == nil {
		d.Schemas = p.Tenancy
	}
	return d
}

// HashRecorder is the audit service as a gdpr.HashRecorder: RecordHash returns the hex
// SHA-256 chain hash of the entry just written (the one the audit API shows), so erasure
// certificates cite their audit entries.
type HashRecorder struct{ Audit *audit.Service }

var _ gdpr.HashRecorder = HashRecorder{}

// The tenant erasure erases the audit log's personal values about the tenant through it.
var _ gdpr.TenantAuditEraser = (*audit.Service)(nil)

// Record implements eusaas.Recorder.
func (h HashRecorder) Record(ctx context.Context, ev eusaas.AuditEvent) error {
	return h.Audit.Record(ctx, ev)
}

// RecordHash implements gdpr.HashRecorder.
func (h HashRecorder) RecordHash(ctx context.Context, ev eusaas.AuditEvent) (string, error) {
	e, err := h.Audit.RecordEntry(ctx, ev)
	if err != nil {
		return "", err
	}
	return e.Hash.String(), nil
}

// AuditRetainer bounds the audit log's personal side data (IP addresses, user agents,
// e-mails, the identifiers of failed logins) by pii_retention_days, or audit_log_retention_days
// when that is shorter: values of entries older than the period plus the grace period are
// deleted. The entries themselves are append-only and stay (audit_log_retention_days); their
// values then show as erased and the chain still verifies.
type AuditRetainer struct{ Audit *audit.Service }

var _ gdpr.Retainer = AuditRetainer{}

// EnforceRetention implements gdpr.Retainer.
func (a AuditRetainer) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	n, err := a.Audit.ErasePersonalBefore(ctx, tenant, now.AddDate(0, 0, -min(p.PIIRetentionDays, p.AuditLogRetentionDays)).Add(-grace), p.Restricted...)
	if err != nil || n == 0 {
		return nil, err
	}
	return map[string]int{"audit_personal.hard_deleted": n}, nil
}

// UserSubjects: a data subject is a user of the tenant.
type UserSubjects struct{ Auth *auth.Service }

var _ gdpr.SubjectFinder = UserSubjects{}

// HasSubject implements gdpr.SubjectFinder.
func (u UserSubjects) HasSubject(ctx context.Context, tenant eusaas.TenantID, subject string) (bool, error) {
	if _, err := uuid.Parse(subject); err != nil {
		return false, nil
	}
	_, err := u.Auth.Me(ctx, auth.Principal{Kind: eusaas.ActorUser, TenantID: tenant, UserID: subject})
	if eusaas.KindOf(err) == eusaas.NotFound {
		return false, nil
	}
	return err == nil, err
}

// TenantIDs is gdpr's TenantLister: the ACTIVE tenants.
type TenantIDs struct{ Tenancy *tenancy.Service }

var _ gdpr.TenantLister = TenantIDs{}

// TenantIDs implements gdpr.TenantLister.
func (t TenantIDs) TenantIDs(ctx context.Context) ([]eusaas.TenantID, error) {
	return activeTenantIDs(ctx, t.Tenancy)
}

var _ gdpr.DeprovisioningLister = TenantIDs{}

// DeprovisioningTenantIDs implements gdpr.DeprovisioningLister.
func (t TenantIDs) DeprovisioningTenantIDs(ctx context.Context) ([]eusaas.TenantID, error) {
	var ids []eusaas.TenantID
	for p := 1; ; p++ {
		l, err := t.Tenancy.List(ctx, tenancy.ListFilter{Status: tenancy.StatusDeprovisioning}, eusaas.Page{Page: p, Size: eusaas.MaxPageSize})
		if err != nil {
			return nil, err
		}
		for _, tn := range l.Items {
			ids = append(ids, tn.ID)
		}
		if len(l.Items) < eusaas.MaxPageSize || len(ids) >= l.Total {
			return ids, nil
		}
	}
}

// tenantCache is tenancy's own cache entry as a gdpr.CachePurger.
type tenantCache struct{ t *tenancy.Service }

func (c tenantCache) PurgeTenant(ctx context.Context, id eusaas.TenantID) error {
	return c.t.PurgeCache(ctx, id)
}

// cachePurgers purges every cache in order, stopping at the first failure (the saga step is
// retried whole, and every purge is idempotent).
type cachePurgers []gdpr.CachePurger

func (c cachePurgers) PurgeTenant(ctx context.Context, id eusaas.TenantID) error {
	for _, p := range c {
		if err := p.PurgeTenant(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// AuditSource streams a tenant's audit chain oldest first, as the audit API shows entries
// (audit.EntryView). audit.List pages newest first, so pages are walked from the last;
// entries are fixed at the start (Until) so new entries do not shift the pages.
type AuditSource struct{ Audit *audit.Service }

var (
	_ gdpr.AuditSource        = AuditSource{}
	_ gdpr.SubjectAuditSource = AuditSource{}
)

// Entries implements gdpr.AuditSource.
func (g AuditSource) Entries(ctx context.Context, tenant eusaas.TenantID, fn func([]byte) error) error {
	return g.walk(ctx, tenant, func(*audit.Entry) bool { return true }, fn)
}

// SubjectEntries implements gdpr.SubjectAuditSource: entries whose actor, resource or
// personal-data subject is one of subjects; personal values of other subjects in them (an
// inviter's IP address) are withheld. Commitments stay, so the entries still verify.
func (g AuditSource) SubjectEntries(ctx context.Context, tenant eusaas.TenantID, subjects []string, fn func([]byte) error) error {
	set := make(map[string]bool, len(subjects))
	for _, s := range subjects {
		set[s] = true
	}
	return g.walk(ctx, tenant, func(e *audit.Entry) bool {
		if !set[e.Subject] && !set[e.Actor.ID] && !set[e.ResourceID] {
			return false
		}
		if !set[e.Subject] {
			for i := range e.Personal {
				e.Personal[i].Value = ""
			}
		}
		return true
	}, fn)
}

// walk streams the tenant's entries oldest first that keep accepts (keep may redact them).
func (g AuditSource) walk(ctx context.Context, tenant eusaas.TenantID, keep func(*audit.Entry) bool, fn func([]byte) error) error {
	const size = eusaas.MaxPageSize
	f := audit.Filter{Until: time.Now().UTC().Add(time.Microsecond)}
	first, err := g.Audit.List(ctx, tenant, f, eusaas.Page{Page: 1, Size: size})
	if err != nil {
		return err
	}
	for page := (first.Total + size - 1) / size; page >= 1; page-- {
		l, err := g.Audit.List(ctx, tenant, f, eusaas.Page{Page: page, Size: size})
		if err != nil {
			return err
		}
		for i := len(l.Items) - 1; i >= 0; i-- {
			if !keep(&l.Items[i]) {
				continue
			}
			b, err := json.Marshal(audit.NewEntryView(l.Items[i]))
			if err != nil {
				return err
			}
			if err := fn(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// LatestCheckpoint implements gdpr.AuditSource.
func (g AuditSource) LatestCheckpoint(ctx context.Context, tenant eusaas.TenantID) ([]byte, error) {
	cp, ok, err := g.Audit.LatestCheckpoint(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, eusaas.E(eusaas.NotFound, "no checkpoint yet")
	}
	return json.Marshal(audit.NewCheckpointView(cp))
}
