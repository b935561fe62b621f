package platform

import (
	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly/memanomaly"
	"github.com/eusaas/eusaas/audit/memaudit"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/jobs/memjobs"
	"github.com/eusaas/eusaas/memtx"
	"github.com/eusaas/eusaas/tenancy/memtenancy"
)

// Memory is the in-process store set: every module's memory adapter on one shared
// transaction (memtx), the in-process job runner, and GDPR's view of every module's tenant
// data. Nothing survives the process. Start the returned runner after New registered the
// jobs, stop it before Close.
func Memory(clock eusaas.Clock) (Stores, *memjobs.Runner) {
	if clock == nil {
		clock = eusaas.SystemClock
	}
	reg := jobs.NewRegistry()
	runner := memjobs.NewRunner(reg, memjobs.Options{Clock: clock})
	users := memauth.NewStore()
	usage, invoices, prices := membilling.NewUsageStore(), membilling.NewInvoiceStore(), membilling.NewPriceStore()
	anomalies := memanomaly.NewStore()
	auditStore := memaudit.NewStore()
	requests := memgdpr.NewStore()
	profiles, credits := membilling.NewProfileStore(), membilling.NewCreditNoteStore()
	data := memgdpr.NewTenantData(users, usage, invoices, prices, anomalies, profiles, credits)
	s := Stores{
		Tx:          memtx.NewTxRunner(),
		Tenants:     memtenancy.NewStore(),
		Provisioner: memtenancy.NewProvisioner(1),

		Users: users, Operators: users, Sessions: users, Invitations: users, ServiceAccounts: users, PasswordResets: users, EmailVerifications: users, MFA: users, APIKeys: users,
		SSO: users, SSOStates: memauth.NewSSOStates(),
		Denylist: memauth.NewDenylist(clock), Limiter: memauth.NewLimiter(),

		Usage: usage, Invoices: invoices, Prices: prices,
		Profiles: profiles, CreditNotes: credits, Metrics: membilling.NewMetricStore(), Plans: membilling.NewPlanStore(),
		Anomalies: anomalies,
		Audit:     auditStore, AuditKeys: auditStore,

		Requests: requests, Policies: requests, Holds: requests, BackupKeys: requests, DSRs: requests, Breaches: requests, Leases: memgdpr.NewLeases(), Archives: memgdpr.NewArchives(),
		TenantData: data,
		Retainers:  []gdpr.Retainer{data, ExpiryRetainer{users}, PIIRetainer{users}, DefaultRetainer{anomalies}},

		Jobs: reg, Queue: runner,
	}
	return s, runner
}
