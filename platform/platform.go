package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/einvoice"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/tenancy"
)

// Stores is every port the modules run on, chosen once: Memory builds the in-process set;
// the reference server builds the PostgreSQL + Redis set (cmd/eusaas/stores.go). Optional
// ports say so; New refuses a set that lacks a required one.
type Stores struct {
	// Tx is the transaction runner every store of the set takes part in.
	Tx eusaas.TxRunner

	Tenants     tenancy.Store
	Provisioner tenancy.Provisioner
	TenantCache tenancy.Cache // optional
	// Placer moves a tenant's data to storage of its new data residency region (the Citus
	// adapter, postgres.Citus); optional: without it a region change is a label only.
	Placer Placer
	// Placements reads where tenants' schemas are placed (optional, for operators).
	Placements tenancy.PlacementReader

	Users           auth.UserStore
	Operators       auth.OperatorStore
	Sessions        auth.SessionStore
	Invitations     auth.InvitationStore
	ServiceAccounts auth.ServiceAccountStore
	PasswordResets  auth.PasswordResetStore // optional: without it password reset answers 503
	// EmailVerifications is optional: without it self-registered users get no verification mail.
	EmailVerifications auth.EmailVerificationStore
	// MFA is optional: without it no second factor can be enrolled.
	MFA auth.MFAStore
	// APIKeys is optional: without it tenants have no API keys.
	APIKeys auth.APIKeyStore
	// SSO and SSOStates are optional: without them (or without Config.OIDC) tenants have
	// no single sign-on.
	SSO       auth.SSOConfigStore
	SSOStates auth.SSOStateStore
	Denylist  auth.Denylist
	Limiter   auth.Limiter

	Usage    billing.UsageStore
	Invoices billing.InvoiceStore
	Prices   billing.PriceStore
	// Profiles and CreditNotes: the invoicing identities and credit notes (optional: without
	// them invoices stay legacy and the routes answer 412).
	Profiles    billing.ProfileStore
	CreditNotes billing.CreditNoteStore
	// Metrics keeps the custom billable metrics (optional: without it only the built-in
	// resources are metered).
	Metrics billing.MetricStore
	// Plans keeps plans and the tenants' plan histories (optional: without it tenants have
	// no plans).
	Plans billing.PlanStore

	Anomalies anomaly.Store

	Audit       audit.Store
	AuditKeys   audit.KeyStore
	Checkpoints audit.CheckpointSink // optional copy of every checkpoint outside the store

	Requests   gdpr.RequestStore
	Policies   gdpr.PolicyStore
	Holds      gdpr.HoldStore
	BackupKeys gdpr.KeyStore
	// DSRs keeps data-subject requests (optional: without it the DSR workflow answers
	// "not configured" and exports/erasures record no requests).
	DSRs gdpr.DSRStore
	// Breaches is the Art. 33 breach register (optional, as DSRs).
	Breaches gdpr.BreachStore
	// Leases keeps the run leases of exports and erasures, so a crashed process's work is
	// taken over (gdpr.Service.Sweep); optional: without it only gdpr.Service.Resume
	// restarts them.
	Leases   gdpr.LeaseStore
	Archives gdpr.ArchiveStore
	// TenantData is every table of a tenant's data, for exports and erasure.
	TenantData gdpr.TenantData
	// Subjects tells whether a data subject exists (optional: the tenant's users otherwise).
	Subjects gdpr.SubjectFinder
	// Schemas drops a tenant's data store (optional: the tenancy provisioner's DropSchema).
	Schemas gdpr.SchemaDropper
	// Retainers enforce retention on records beyond the audit log's personal values.
	Retainers []gdpr.Retainer
	// Purgers remove cached values about a tenant beyond tenancy's own cache (optional).
	Purgers []gdpr.CachePurger

	// Jobs is the registry every module registers its handlers and schedules into; Queue
	// runs them (the caller starts and stops it).
	Jobs  *jobs.Registry
	Queue jobs.Queue
}

// Config tunes the modules. Zero values take each module's defaults.
type Config struct {
	Clock  eusaas.Clock
	Logger *slog.Logger

	// Auth: token issuer and lifetimes; Keys sign and verify tokens (required); Hasher
	// hashes passwords (default: Argon2id at the OWASP parameters).
	Auth     auth.Config
	AuthKeys auth.Keys
	Hasher   *auth.Hasher
	// Mailer delivers auth's mails (invitations, password resets, e-mail verification) from
	// a background job; nil sends none. PublicURL is the base of the links they carry.
	Mailer    auth.Mailer
	PublicURL string
	// OIDC is the OpenID Connect relying party of per-tenant SSO (cmd wires adapters/oidc);
	// nil: no SSO.
	OIDC auth.OIDCProvider

	// Audit: the checkpoint signer and cadence (Clock and Logger come from here).
	Audit audit.Options

	// GDPR: the signing key (required) and the public base URL of download links.
	GDPR gdpr.Options

	// Billing: late-arrival window, payment terms, unverified VAT id policy (Tx, Recorder,
	// Thresholds, the UBL and CII renderers are wired).
	Billing billing.Options
	// VIES verifies buyers' VAT ids (nil: ids stay unverified).
	VIES billing.VATChecker
	// Renderers are added to UBL and CII (the PDF adapter).
	Renderers []billing.Renderer

	// Anomaly: the notifier of new anomalies (default: the log) and scanner options.
	Notifier anomaly.Notifier
	Scanner  anomaly.ScannerOptions

	// Tenancy: residency regions.
	Regions       []string
	DefaultRegion string
	// AsyncProvisioning makes tenant creation return the tenant PROVISIONING at once and
	// provision it in a job (tenancy.Options.AsyncProvisioning); the reference server sets it.
	AsyncProvisioning bool
}

// Platform is the wired modules.
type Platform struct {
	Tenancy *tenancy.Service
	Auth    *auth.Service
	Billing *billing.Service
	Anomaly *anomaly.Service
	Scanner *anomaly.Scanner
	GDPR    *gdpr.Service
	Audit   *audit.Service
	Jobs    *jobs.Registry

	placer Placer
	clock  eusaas.Clock
	log    *slog.Logger
}

// TenancyStalledAfter is how long a tenant may stay PENDING or PROVISIONING before the
// periodic job decides its provisioning died with its process; far above any real
// provisioning (milliseconds to seconds).
const TenancyStalledAfter = 30 * time.Minute

// BillingMaintainEvery is the interval of billing's maintenance job (dedup purge, overdue sweep).
const BillingMaintainEvery = 6 * time.Hour

// New builds every module on s, connects their ports to each other and registers their jobs
// into s.Jobs. Order: audit (everyone records through it); tenancy and auth (each needs the
// other: tenancy issues owner invitations through auth, auth resolves tenants through
// tenancy); billing; anomaly on billing's daily costs; gdpr, whose erasure saga becomes
// tenancy's deprovisioner and which exports and erases every module's data.
func New(ctx context.Context, s Stores, c Config) (*Platform, error) {
	if err := s.check(c); err != nil {
		return nil, err
	}
	if c.Clock == nil {
		c.Clock = eusaas.SystemClock
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Platform{Jobs: s.Jobs, placer: s.Placer, clock: c.Clock, log: c.Logger}

	ao := c.Audit
	ao.Clock, ao.Logger = c.Clock, c.Logger
	var err error
	if p.Audit, err = audit.NewService(audit.Deps{Store: s.Audit, Keys: s.AuditKeys, Sink: s.Checkpoints, Tx: s.Tx}, ao); err != nil {
		return nil, err
	}
	// Chains written before the Merkle tree get it once, verified before and after; a chain
	// that fails stays as it was (its appends fail until an operator looks), and is logged.
	if n, err := p.Audit.Upgrade(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		c.Logger.Error("audit: upgrading chains to the Merkle tree", "upgraded", n, "err", err)
	} else if n > 0 {
		c.Logger.Info("audit: chains upgraded to the Merkle tree", "upgraded", n)
	}
	rec := eusaas.Recorder(p.Audit)

	invitations := &ownerInvitations{}
	var plans tenancy.PlanCatalog
	if s.Plans != nil {
		plans = PlanCatalog{p}
	}
	if p.Tenancy, err = tenancy.NewService(tenancy.Deps{Store: s.Tenants, Provisioner: s.Provisioner, Cache: s.TenantCache,
		Invitations: invitations, Recorder: rec, Tx: s.Tx, Regions: regionMoves{s.Queue}, Placements: s.Placements, Queue: s.Queue, Plans: plans},
		tenancy.Options{Clock: c.Clock, Regions: c.Regions, DefaultRegion: c.DefaultRegion, Logger: c.Logger,
			AsyncProvisioning: c.AsyncProvisioning}); err != nil {
		return nil, err
	}
	hasher := c.Hasher
	if hasher == nil {
		if hasher, err = auth.NewHasher(auth.OWASPParams, auth.HasherOptions{}); err != nil {
			return nil, err
		}
	}
	var mailQueue jobs.Queue
	if c.Mailer != nil && s.Queue != nil {
		// Registered before auth can enqueue: a queue refuses kinds without a handler.
		s.Jobs.Handle(auth.MailJobKind, auth.MailHandler(c.Mailer, c.PublicURL))
		// The forgot-password work runs in a job so the request's time never depends on
		// whether the account exists; p.Auth is read when the job runs, after New.
		s.Jobs.Handle(auth.PasswordForgotJobKind, func(ctx context.Context, j jobs.Job) error {
			return p.Auth.HandlePasswordForgot(ctx, j)
		})
		mailQueue = s.Queue
	}
	if p.Auth, err = auth.NewService(auth.Deps{Users: s.Users, Operators: s.Operators, Sessions: s.Sessions,
		Invitations: s.Invitations, ServiceAccounts: s.ServiceAccounts, Denylist: s.Denylist, Limiter: s.Limiter,
		Keys: c.AuthKeys, Tenants: TenantResolver{p.Tenancy}, Hasher: hasher, Recorder: rec, Tx: s.Tx, Clock: c.Clock,
		Jobs: mailQueue, PasswordResets: s.PasswordResets, EmailVerifications: s.EmailVerifications, MFA: s.MFA, APIKeys: s.APIKeys,
		SSO: s.SSO, SSOStates: s.SSOStates, OIDC: c.OIDC}, c.Auth); err != nil {
		return nil, err
	}
	invitations.auth = p.Auth

	bo := c.Billing
	bo.Clock = c.Clock
	// Tenants on an edited plan get its new limits, as moving to it gives them.
	next := bo.EntitlementsChanged
	bo.EntitlementsChanged = func(ctx context.Context, plan string) error {
		if _, err := p.Tenancy.ApplyPlanLimits(ctx, plan); err != nil {
			return err
		}
		if next != nil {
			return next(ctx, plan)
		}
		return nil
	}
	if p.Billing, err = billing.NewService(billing.Deps{Usage: s.Usage, Invoices: s.Invoices, Prices: s.Prices,
		Tx: s.Tx, Recorder: rec, Thresholds: Thresholds{p.Tenancy}, Profiles: s.Profiles, CreditNotes: s.CreditNotes, Metrics: s.Metrics, Plans: s.Plans, VIES: c.VIES,
		Renderers: append([]billing.Renderer{einvoice.UBL{}, einvoice.CII{}}, c.Renderers...)}, bo); err != nil {
		return nil, err
	}

	if p.Anomaly, err = anomaly.NewService(anomaly.Deps{Store: s.Anomalies, Recorder: rec}, anomaly.Options{Clock: c.Clock}); err != nil {
		return nil, err
	}
	notifier := c.Notifier
	if notifier == nil {
		notifier = anomaly.LogNotifier{Logger: c.Logger}
	}
	so := c.Scanner
	if so.Projector == nil {
		so.Projector = Projector{p.Billing}
	}
	if so.Attributes == nil {
		// p.GDPR is wired below; the scanner reads it when it runs.
		so.Attributes = AttributeCosts{Billing: p.Billing, Restricted: func(ctx context.Context, t eusaas.TenantID) ([]string, error) {
			if p.GDPR == nil {
				return nil, nil
			}
			return p.GDPR.RestrictedSubjects(ctx, t)
		}}
	}
	if so.Clock == nil {
		so.Clock = c.Clock // the platform's clock, as every other module's
	}
	if so.Logger == nil {
		so.Logger = c.Logger
	}
	if so.Replay == nil {
		// The daily scan resumes each series' detector state from yesterday's instead of
		// replaying its history (same results; the window is aligned for it, see
		// ScannerOptions.WindowAlign). Per process: a replica that did not run yesterday's
		// scan replays.
		so.Replay = anomaly.NewReplayCache()
	}
	p.Scanner = anomaly.NewScanner(DailyCosts{p.Billing}, AnomalyTenants{p.Tenancy}, s.Anomalies, notifier, so)

	gopts := c.GDPR
	gopts.Clock = c.Clock
	if gopts.DataMap == nil {
		gopts.DataMap = DataMap
	}
	if p.GDPR, err = gdpr.NewService(gdprDeps(s, p), gopts); err != nil {
		return nil, err
	}
	p.Tenancy.SetDeprovisioner(p.GDPR)

	p.registerJobs()
	return p, nil
}

// check names every missing required port.
func (s Stores) check(c Config) error {
	var missing []string
	req := func(name string, ok bool) {
		if !ok {
			missing = append(missing, name)
		}
	}
	req("Tx", s.Tx != nil)
	req("Tenants", s.Tenants != nil)
	req("Provisioner", s.Provisioner != nil)
	req("Users", s.Users != nil)
	req("Operators", s.Operators != nil)
	req("Sessions", s.Sessions != nil)
	req("Invitations", s.Invitations != nil)
	req("ServiceAccounts", s.ServiceAccounts != nil)
	req("Denylist", s.Denylist != nil)
	req("Limiter", s.Limiter != nil)
	req("Usage", s.Usage != nil)
	req("Invoices", s.Invoices != nil)
	req("Prices", s.Prices != nil)
	req("Anomalies", s.Anomalies != nil)
	req("Audit", s.Audit != nil)
	req("AuditKeys", s.AuditKeys != nil)
	req("Requests", s.Requests != nil)
	req("Policies", s.Policies != nil)
	req("Holds", s.Holds != nil)
	req("BackupKeys", s.BackupKeys != nil)
	req("Archives", s.Archives != nil)
	req("TenantData", s.TenantData != nil)
	req("Jobs", s.Jobs != nil)
	req("Queue", s.Queue != nil)
	req("Config.AuthKeys", c.AuthKeys != nil)
	if len(missing) > 0 {
		return eusaas.Errorf(eusaas.InvalidArgument, "platform: missing required ports: %v", missing)
	}
	return nil
}

// Run makes the audit log's periodic checkpoints until ctx ends. Run it beside the job
// workers of one process (every replica may run it; checkpoints are per chain).
func (p *Platform) Run(ctx context.Context) error { return p.Audit.Run(ctx) }

// Close makes a last checkpoint of chains with unsigned entries (within 5 s) and then
// refuses new audit records. Call it after the HTTP server and the job workers stopped.
func (p *Platform) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.Audit.Flush(ctx); err != nil {
		p.log.Error("audit: final checkpoint", "error", err.Error())
	}
	p.Audit.Close()
}

// ActiveTenantIDs lists the ACTIVE tenants' ids (periodic jobs work on them).
func (p *Platform) ActiveTenantIDs(ctx context.Context) ([]eusaas.TenantID, error) {
	return activeTenantIDs(ctx, p.Tenancy)
}

// registerJobs schedules the platform's recurring work: the daily anomaly scan, the invoice
// run, billing maintenance, the end of stalled provisionings, and gdpr's own jobs.
func (p *Platform) registerJobs() {
	r := p.Jobs
	r.Handle("anomaly.scan", func(ctx context.Context, _ jobs.Job) error {
		rep, err := p.Scanner.ScanAll(ctx)
		if err != nil {
			return err
		}
		p.log.InfoContext(ctx, "anomaly scan done", "tenants", rep.Tenants, "created", rep.Created)
		return nil
	})
	r.Every(jobs.Periodic{Name: "anomaly.scan", Kind: "anomaly.scan", Schedule: jobs.Daily{Hour: 2}})

	// Digests of the alert subscriptions, after the scan: DAILY every day, WEEKLY on
	// Mondays (jobs has no weekly schedule; the daily run decides).
	r.Handle("anomaly.digest", func(ctx context.Context, _ jobs.Job) error {
		now := p.clock.Now()
		freqs := []anomaly.Frequency{anomaly.FrequencyDaily}
		if now.UTC().Weekday() == time.Monday {
			freqs = append(freqs, anomaly.FrequencyWeekly)
		}
		for _, f := range freqs {
			rep, err := p.Scanner.SendDigests(ctx, f, now)
			if err != nil {
				return err
			}
			p.log.InfoContext(ctx, "anomaly digests sent", "frequency", string(f), "tenants", rep.Tenants,
				"delivered", rep.Notified, "errors", rep.NotifyErrors)
		}
		return nil
	})
	r.Every(jobs.Periodic{Name: "anomaly.digest", Kind: "anomaly.digest", Schedule: jobs.Daily{Hour: 3}})

	r.Handle("billing.invoices", func(ctx context.Context, _ jobs.Job) error {
		return p.IssueLastMonthInvoices(ctx)
	})
	r.Every(jobs.Periodic{Name: "billing.invoices", Kind: "billing.invoices", Schedule: jobs.Daily{Hour: 1}})

	r.Handle("billing.maintenance", func(ctx context.Context, _ jobs.Job) error {
		return p.MaintainBilling(ctx)
	})
	r.Every(jobs.Periodic{Name: "billing.maintenance", Kind: "billing.maintenance", Schedule: jobs.Interval(BillingMaintainEvery)})

	r.Handle("tenancy.fail_stalled", func(ctx context.Context, _ jobs.Job) error {
		n, err := p.Tenancy.FailStalled(ctx, TenancyStalledAfter)
		if n > 0 {
			p.log.WarnContext(ctx, "ended tenants whose provisioning was interrupted", "count", n)
		}
		return err
	})
	r.Every(jobs.Periodic{Name: "tenancy.fail_stalled", Kind: "tenancy.fail_stalled", Schedule: jobs.Interval(time.Hour)})
	p.Tenancy.RegisterJobs(r)

	r.Handle(JobMoveRegion, func(ctx context.Context, j jobs.Job) error {
		var a moveRegionArgs
		if err := j.Decode(&a); err != nil {
			return err
		}
		return p.MoveRegion(ctx, a.TenantID)
	})

	p.GDPR.RegisterJobs(r)
}

// IssueLastMonthInvoices drafts and issues last month's invoice of every ACTIVE tenant. It
// runs daily so a missed day catches up; a month already issued is skipped
// (ErrAlreadyInvoiced), which makes the job idempotent.
func (p *Platform) IssueLastMonthInvoices(ctx context.Context) error {
	ids, err := p.ActiveTenantIDs(ctx)
	if err != nil {
		return err
	}
	lastMonth := billing.MonthStart(p.clock.Now().UTC()).AddDate(0, -1, 0)
	var errs []error
	for _, id := range ids {
		inv, err := p.Billing.DraftInvoice(ctx, id, lastMonth)
		if errors.Is(err, billing.ErrAlreadyInvoiced) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: draft: %w", id, err))
			continue
		}
		if _, err := p.Billing.Issue(ctx, id, inv.ID); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: issue: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// MaintainBilling purges expired dedup rows, marks overdue invoices and re-checks
// unverified VAT ids with VIES, for every ACTIVE
// tenant. A failing tenant does not stop the others; the job fails (and is retried) if any did.
func (p *Platform) MaintainBilling(ctx context.Context) error {
	ids, err := p.ActiveTenantIDs(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range ids {
		if _, err := p.Billing.PurgeDedup(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: dedup purge: %w", t, err))
		}
		if _, err := p.Billing.MarkOverdue(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: overdue sweep: %w", t, err))
		}
		// VAT ids VIES could not verify are asked again (no profile or no invoicing
		// stores: nothing to re-check).
		if _, err := p.Billing.RecheckVATID(ctx, t); err != nil && eusaas.KindOf(err) != eusaas.NotFound && eusaas.KindOf(err) != eusaas.FailedPrecondition {
			errs = append(errs, fmt.Errorf("tenant %s: VAT id re-check: %w", t, err))
		}
	}
	return errors.Join(errs...)
}
