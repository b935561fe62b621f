package memory_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/anomaly/memanomaly"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/memtx"
)

// Shared fixture of the memory stores' eusaas.DataSource tests (auth_gdpr_test.go,
// billing_gdpr_test.go, anomaly_gdpr_test.go): the same operations run against any
// implementation of the stores' ports, so the memory export can be compared with the
// Postgres one.

type memgdprPorts struct {
	Users       auth.UserStore
	Sessions    auth.SessionStore
	Invitations auth.InvitationStore
	Usage       billing.UsageStore
	Invoices    billing.InvoiceStore
	Prices      billing.PriceStore
	Anomalies   anomaly.Store
}

// memgdprStores are the memory stores under test.
type memgdprStores struct {
	Auth      *memauth.Store
	Usage     *membilling.UsageStore
	Invoices  *membilling.InvoiceStore
	Prices    *membilling.PriceStore
	Anomalies *memanomaly.Store
}

func memgdprNew() memgdprStores {
	return memgdprStores{Auth: memauth.NewStore(), Usage: membilling.NewUsageStore(),
		Invoices: membilling.NewInvoiceStore(), Prices: membilling.NewPriceStore(), Anomalies: memanomaly.NewStore()}
}

func (s memgdprStores) ports() memgdprPorts {
	return memgdprPorts{Users: s.Auth, Sessions: s.Auth, Invitations: s.Auth, Usage: s.Usage, Invoices: s.Invoices,
		Prices: s.Prices, Anomalies: s.Anomalies}
}

func (s memgdprStores) sources() []eusaas.DataSource {
	return []eusaas.DataSource{s.Auth, s.Usage, s.Invoices, s.Prices, s.Anomalies}
}

func (s memgdprStores) data() *memgdpr.TenantData { return memgdpr.NewTenantData(s.sources()...) }

// memgdprRetain runs a memory store's own retention as the server's wiring adapts it to
// gdpr.Retainer (cmd/eusaas): auth deletes rows expired before now-grace, anomaly applies
// default_retention_days; the billing stores have none.
func memgdprRetain(ctx context.Context, src eusaas.DataSource, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	switch s := src.(type) {
	case *memauth.Store:
		return s.DeleteExpired(ctx, tenant, now.Add(-grace))
	case *memanomaly.Store:
		return s.EnforceDataRetention(ctx, tenant, p.DefaultRetentionDays, now, grace)
	}
	return map[string]int{}, nil
}

// memgdprValue renders a DataRow value with its Go type, so two dumps are equal only when
// the values have the same types and the same values: "<type>:<JSON>", a JSON document
// canonical (compact, keys sorted) so that jsonb's own key order and spacing do not count.
func memgdprValue(t *testing.T, v any) string {
	t.Helper()
	if raw, ok := v.(json.RawMessage); ok {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("invalid JSON value %s: %v", raw, err)
		}
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		return "json.RawMessage:" + string(b)
	}
	if tm, ok := v.(time.Time); ok && tm.Location() != time.UTC {
		t.Fatalf("time %v not in UTC", tm)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%T:%s", v, b)
}

// memgdprSeed names what memgdprFill created.
type memgdprSeed struct {
	U1, U2         uuid.UUID
	Email1, Email2 string
	Pending        string // email of the unused invitation
	Invoice        uuid.UUID
	Anomaly        uuid.UUID
}

// memgdprID derives a stable id per tenant and name, so two runs of the fixture for the same
// tenant (memory and Postgres) create identical rows.
func memgdprID(tenant eusaas.TenantID, name string) uuid.UUID {
	return uuid.NewSHA1(uuid.UUID(tenant), []byte(name))
}

func memgdprHash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

var memgdprBase = time.Date(2026, 10, 5, 9, 30, 15, 123456789, time.UTC)

// memgdprFill writes a little of everything for tenant: two users (one logged in, one
// deactivated), three sessions (rotated, revoked, live), two invitations (used, pending),
// three usage events (one with attributes naming user 1), an issued invoice with two lines,
// two price overrides and a tax rate, and two anomalies (one acknowledged, one suppressed).
func memgdprFill(t *testing.T, ctx context.Context, p memgdprPorts, tenant eusaas.TenantID) memgdprSeed {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tag := tenant.String()[24:] // the random end: v7 ids made together share their start
	s := memgdprSeed{U1: memgdprID(tenant, "u1"), U2: memgdprID(tenant, "u2"),
		Email1: "owner-" + tag + "@example.eu", Email2: "member-" + tag + "@example.eu", Pending: "pending-" + tag + "@example.eu",
		Invoice: memgdprID(tenant, "inv"), Anomaly: memgdprID(tenant, "a1")}
	b := memgdprBase

	must(p.Users.CreateUser(ctx, auth.User{ID: s.U1, TenantID: tenant, Email: s.Email1, FullName: "Olga Owner", Role: auth.RoleOwner,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", IsActive: true, CreatedAt: b, UpdatedAt: b}))
	must(p.Users.RecordUserLogin(ctx, tenant, s.U1, b.Add(2*time.Hour)))
	must(p.Users.CreateUser(ctx, auth.User{ID: s.U2, TenantID: tenant, Email: s.Email2, FullName: "Max Member", Role: auth.RoleMember,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDI", IsActive: true, CreatedAt: b.Add(time.Minute), UpdatedAt: b.Add(time.Minute)}))
	must(p.Users.SetUserActive(ctx, tenant, s.U2, false, b.Add(3*time.Hour)))

	sess := func(name string, user uuid.UUID) uuid.UUID {
		id := memgdprID(tenant, name)
		must(p.Sessions.CreateSession(ctx, auth.Session{ID: id, TenantID: tenant, UserID: user, TokenHash: memgdprHash(name),
			CreatedAt: b, RotatedAt: b, ExpiresAt: b.Add(30 * 24 * time.Hour)}))
		return id
	}
	s1 := sess("s1", s.U1)
	must(p.Sessions.RotateSession(ctx, tenant, s1, 0, memgdprHash("s1.1"), b.Add(time.Hour)))
	s2 := sess("s2", s.U1)
	must(p.Sessions.RevokeSession(ctx, tenant, s2, b.Add(90*time.Minute), "logout"))
	sess("s3", s.U2)

	must(p.Invitations.CreateInvitation(ctx, auth.Invitation{ID: memgdprID(tenant, "i1"), TenantID: tenant, Email: s.Email1,
		Role: auth.RoleOwner, TokenHash: memgdprHash("i1"), CreatedBy: "system", CreatedAt: b.Add(-time.Hour), ExpiresAt: b.Add(7 * 24 * time.Hour)}))
	if _, err := p.Invitations.ConsumeInvitation(ctx, tenant, memgdprHash("i1"), b); err != nil {
		t.Fatal(err)
	}
	must(p.Invitations.CreateInvitation(ctx, auth.Invitation{ID: memgdprID(tenant, "i2"), TenantID: tenant, Email: s.Pending,
		Role: auth.RoleMember, TokenHash: memgdprHash("i2"), CreatedBy: s.U1.String(), CreatedAt: b, ExpiresAt: b.Add(7 * 24 * time.Hour)}))

	rate := func(_ billing.ResourceType, _, q decimal.Decimal) decimal.Decimal {
		return q.Mul(decimal.RequireFromString("0.02"))
	}
	if _, err := p.Usage.Record(ctx, tenant, []billing.UsageEvent{
		{ID: "ev-1", ResourceType: billing.CPU, Quantity: decimal.RequireFromString("1.5"), Timestamp: b.Add(-24 * time.Hour),
			Attributes: map[string]string{"user": s.U1.String(), "region": "eu-central-1"}},
		{ID: "ev-2", ResourceType: billing.CPU, Quantity: decimal.RequireFromString("2.25"), Timestamp: b},
		{ID: "ev-3", ResourceType: billing.Memory, Quantity: decimal.RequireFromString("1024"), Timestamp: b},
	}, rate); err != nil {
		t.Fatal(err)
	}

	month := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	inv := billing.Invoice{ID: s.Invoice, TenantID: tenant, Status: billing.StatusDraft, PeriodStart: month, PeriodEnd: month.AddDate(0, 1, -1),
		Currency: "EUR", Subtotal: decimal.RequireFromString("12.34"), TaxRate: decimal.RequireFromString("0.19"),
		TaxAmount: decimal.RequireFromString("2.34"), Total: decimal.RequireFromString("14.68"), RoundingRule: "HALF_EVEN", CreatedAt: b,
		Lines: []billing.InvoiceLine{
			{Resource: billing.CPU, Description: "CPU", Unit: "vCPU-hour", Quantity: decimal.RequireFromString("600"), Amount: decimal.RequireFromString("12.00"), UsageMonth: month},
			{Resource: billing.Memory, Description: "Memory", Unit: "GiB-hour", Quantity: decimal.RequireFromString("68"), Amount: decimal.RequireFromString("0.34"), UsageMonth: month, Adjustment: true},
		}}
	must(p.Invoices.Create(ctx, inv))
	issued, due := b.Add(time.Hour), time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)
	inv.Status, inv.Number, inv.IssuedAt, inv.DueDate, inv.IssuedBy = billing.StatusIssued, "INV-2026-000042", &issued, &due, s.U1.String()
	must(p.Invoices.Update(ctx, inv, billing.StatusDraft))

	hundred := decimal.RequireFromString("100")
	must(p.Prices.SetOverride(ctx, tenant, billing.CPU, billing.PriceModel{Kind: billing.PriceModelGraduated, Tiers: []billing.Tier{
		{UpTo: &hundred, UnitPrice: decimal.RequireFromString("0.02")}, {UnitPrice: decimal.RequireFromString("0.015")}}}))
	must(p.Prices.SetOverride(ctx, tenant, billing.Memory, billing.PerUnit(decimal.RequireFromString("0.004"))))
	must(p.Prices.SetTaxRate(ctx, tenant, decimal.RequireFromString("0.19")))

	dev, share := decimal.RequireFromString("155"), decimal.RequireFromString("100")
	day := time.Date(2026, 10, 4, 0, 0, 0, 0, time.UTC)
	if _, _, err := p.Anomalies.Insert(ctx, anomaly.Anomaly{ID: s.Anomaly, TenantID: tenant, Day: day, DetectedAt: b, Service: "CPU",
		Kind: anomaly.KindSpike, Rule: "zscore", Severity: anomaly.SeverityHigh, Score: 4.25,
		Expected: decimal.RequireFromString("10"), Actual: decimal.RequireFromString("25.5"), Impact: decimal.RequireFromString("15.5"),
		DeviationPct: &dev, Description: "CPU cost 155% above expected",
		Contributions: []anomaly.Contribution{{Resource: "CPU", Expected: decimal.RequireFromString("10"), Actual: decimal.RequireFromString("25.5"),
			Delta: decimal.RequireFromString("15.5"), SharePct: &share}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Anomalies.Acknowledge(ctx, tenant, s.Anomaly, s.U1.String(), b.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ackAt := b.Add(2 * time.Hour)
	if _, _, err := p.Anomalies.Insert(ctx, anomaly.Anomaly{ID: memgdprID(tenant, "a2"), TenantID: tenant, Day: day.AddDate(0, 0, 1),
		DetectedAt: b, Service: "MEMORY", Kind: anomaly.KindNewSpend, Rule: "new_spend", Severity: anomaly.SeverityLow,
		Actual: decimal.RequireFromString("7"), Impact: decimal.RequireFromString("7"), Description: "new spend on MEMORY",
		Acknowledged: true, AcknowledgedBy: s.U1.String(), AcknowledgedAt: &ackAt, SuppressedBy: &s.Anomaly}); err != nil {
		t.Fatal(err)
	}
	return s
}

// memgdprDump scans every table of data for tenant (filtered by subjects when given): table
// -> rows rendered as "col=<type>:<JSON value>" lists, NULL as "col=<null>".
func memgdprDump(t *testing.T, ctx context.Context, data gdpr.TenantData, tenant eusaas.TenantID, subjects ...string) map[string][]string {
	t.Helper()
	tables, err := data.Tables(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, tb := range tables {
		if len(subjects) > 0 && tb.SubjectColumn == "" {
			continue // as gdpr's writeArchive does
		}
		rows := []string{}
		err := data.Scan(ctx, tenant, tb, subjects, func(values eusaas.DataRow) error {
			if len(values) != len(tb.Columns) {
				t.Fatalf("%s: %d values for %d columns", tb.Name, len(values), len(tb.Columns))
			}
			parts := make([]string, len(values))
			for i, v := range values {
				if v == nil {
					parts[i] = tb.Columns[i] + "=<null>"
				} else {
					parts[i] = tb.Columns[i] + "=" + memgdprValue(t, v)
				}
			}
			rows = append(rows, strings.Join(parts, " "))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		out[tb.Name] = rows
	}
	return out
}

// TestMemGDPRMatchesPostgres runs the fixture against the Postgres stores and the memory
// stores and compares the two modes' GDPR view: the same tables with the same columns, the
// same rows with the same typed values (Go type and value; JSON documents compared as JSON), the same subject filtering and the same deletion
// counts. Exceptions: tenant_info exists only in Postgres (schema metadata, no module data),
// and received_at is each store's own clock.
func TestMemGDPRMatchesPostgres(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	if err := db.MigratePlatform(ctx); err != nil {
		t.Fatal(err)
	}
	tenant := eusaas.NewTenantID()
	if err := db.CreateTenantSchema(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	pa := postgres.NewAuthStore(db)
	pg := memgdprPorts{Users: pa, Sessions: pa, Invitations: pa, Usage: postgres.NewBillingUsageStore(db),
		Invoices: postgres.NewBillingInvoiceStore(db), Prices: postgres.NewBillingPriceStore(db), Anomalies: postgres.NewAnomalyStore(db)}
	seed := memgdprFill(t, ctx, pg, tenant)
	mem := memgdprNew()
	memgdprFill(t, ctx, mem.ports(), tenant)
	pgData, memData := postgres.NewGDPRData(db), mem.data()

	pgTables, err := pgData.Tables(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	memTables, err := memData.Tables(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	pgTables = slices.DeleteFunc(pgTables, func(tb gdpr.Table) bool { return tb.Name == "tenant_info" })
	if diff := cmp.Diff(pgTables, memTables); diff != "" {
		t.Fatalf("tables differ (-postgres +memory):\n%s", diff)
	}

	mask := func(d map[string][]string) map[string][]string {
		delete(d, "tenant_info")
		for name, rows := range d {
			for i, r := range rows {
				if j := strings.Index(r, " received_at="); j >= 0 {
					rows[i] = r[:j] + " received_at=<clock>"
				}
			}
			slices.Sort(rows)
			d[name] = rows
		}
		return d
	}
	pgDump, memDump := mask(memgdprDump(t, ctx, pgData, tenant)), mask(memgdprDump(t, ctx, memData, tenant))
	if diff := cmp.Diff(pgDump, memDump); diff != "" {
		t.Fatalf("export rows differ (-postgres +memory):\n%s", diff)
	}
	for _, name := range []string{"auth_users", "auth_sessions", "auth_invitations", "billing_usage_events", "billing_usage_buckets",
		"billing_usage_months", "billing_invoices", "billing_invoice_lines", "billing_prices", "billing_settings", "anomalies"} {
		if len(memDump[name]) == 0 {
			t.Errorf("fixture left %s empty: the comparison proves nothing for it", name)
		}
	}

	// Subject filter: user 1's session rows are the same in both modes (Postgres finds no
	// subject column in the other tables).
	pgSub, memSub := memgdprDump(t, ctx, pgData, tenant, seed.U1.String()), memgdprDump(t, ctx, memData, tenant, seed.U1.String())
	slices.Sort(pgSub["auth_sessions"]) // Postgres returns heap order, memory id order
	slices.Sort(memSub["auth_sessions"])
	if diff := cmp.Diff(pgSub["auth_sessions"], memSub["auth_sessions"]); diff != "" || len(memSub["auth_sessions"]) != 2 {
		t.Fatalf("subject-filtered sessions differ or not 2 (-postgres +memory):\n%s", diff)
	}

	pgCounts, err := pgData.DeleteAll(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	delete(pgCounts, "tenant_info")
	memCounts, err := memData.DeleteAll(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pgCounts, memCounts); diff != "" {
		t.Fatalf("deletion counts differ (-postgres +memory):\n%s", diff)
	}
}

// memgdprSourceCase describes one memory store as an eusaas.DataSource for memgdprRunSource.
type memgdprSourceCase struct {
	pick func(memgdprStores) eusaas.DataSource
	// subjects maps each table to its subject column ("" for none).
	subjects map[string]string
	// counts are the rows memgdprFill leaves in each table.
	counts map[string]int
}

func memgdprRowCounts(d map[string][]string) map[string]int {
	out := map[string]int{}
	for k, v := range d {
		out[k] = len(v)
	}
	return out
}

// memgdprRunSource checks the eusaas.DataSource contract common to every memory store: its tables,
// tenant isolation, idempotent tenant deletion, rollback inside a memory transaction,
// context cancellation, concurrent use (run with -race), and that retention deletes only
// rows past their expires_at (sessions, invitations), as the Postgres adapter does.
func memgdprRunSource(t *testing.T, c memgdprSourceCase) {
	ctx := context.Background()
	setup := func(t *testing.T) (memgdprStores, eusaas.DataSource, *memgdpr.TenantData, eusaas.TenantID, eusaas.TenantID, memgdprSeed) {
		s := memgdprNew()
		a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
		memgdprFill(t, ctx, s.ports(), a)
		seedB := memgdprFill(t, ctx, s.ports(), b)
		src := c.pick(s)
		return s, src, memgdpr.NewTenantData(src), a, b, seedB
	}
	zero := map[string]int{}
	for k := range c.counts {
		zero[k] = 0
	}

	t.Run("Tables", func(t *testing.T) {
		_, src, data, a, _, _ := setup(t)
		got := map[string]string{}
		for _, tb := range src.DataTables(a) {
			got[tb.Name] = tb.SubjectColumn
			if tb.SubjectColumn != "" && !slices.Contains(tb.Columns, tb.SubjectColumn) {
				t.Errorf("%s: subject column %q not among its columns", tb.Name, tb.SubjectColumn)
			}
		}
		if diff := cmp.Diff(c.subjects, got); diff != "" {
			t.Fatalf("tables (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(c.counts, memgdprRowCounts(memgdprDump(t, ctx, data, a))); diff != "" {
			t.Fatalf("rows per table (-want +got):\n%s", diff)
		}
		if n := len(src.DataTables(eusaas.NilTenant)); n != 0 {
			t.Fatalf("nil tenant has %d tables", n)
		}
		// A tenant without data still has every table, empty, like a fresh tenant schema.
		fresh := eusaas.NewTenantID()
		if diff := cmp.Diff(zero, memgdprRowCounts(memgdprDump(t, ctx, data, fresh))); diff != "" {
			t.Fatalf("fresh tenant (-want +got):\n%s", diff)
		}
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		_, src, data, a, b, seedB := setup(t)
		dumpB := memgdprDump(t, ctx, data, b)
		for name, rows := range memgdprDump(t, ctx, data, a) {
			for _, r := range rows {
				for _, other := range []string{seedB.U1.String(), seedB.U2.String(), seedB.Email1, seedB.Pending, seedB.Invoice.String(), seedB.Anomaly.String()} {
					if strings.Contains(r, other) {
						t.Fatalf("tenant A's %s shows tenant B's %s: %s", name, other, r)
					}
				}
			}
		}
		if _, err := src.DeleteTenantData(ctx, a); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(dumpB, memgdprDump(t, ctx, data, b)); diff != "" {
			t.Fatalf("deleting tenant A changed tenant B (-before +after):\n%s", diff)
		}
	})

	t.Run("DeleteTenantIdempotent", func(t *testing.T) {
		_, src, data, a, _, _ := setup(t)
		got, err := src.DeleteTenantData(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.counts, got); diff != "" {
			t.Fatalf("first deletion counts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(zero, memgdprRowCounts(memgdprDump(t, ctx, data, a))); diff != "" {
			t.Fatalf("rows left (-want +got):\n%s", diff)
		}
		got, err = src.DeleteTenantData(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(zero, got); diff != "" {
			t.Fatalf("second deletion counts (-want +got):\n%s", diff)
		}
	})

	t.Run("TxRollback", func(t *testing.T) {
		_, src, data, a, _, _ := setup(t)
		before := memgdprDump(t, ctx, data, a)
		tx := memtx.NewTxRunner()
		boom := eusaas.E(eusaas.Internal, "boom")
		err := tx.InTx(ctx, func(ctx context.Context) error {
			if _, err := src.DeleteTenantData(ctx, a); err != nil {
				return err
			}
			return boom
		})
		if err != boom {
			t.Fatalf("InTx = %v", err)
		}
		if diff := cmp.Diff(before, memgdprDump(t, ctx, data, a)); diff != "" {
			t.Fatalf("rollback did not restore the tenant (-before +after):\n%s", diff)
		}
		if err := tx.InTx(ctx, func(ctx context.Context) error { _, err := src.DeleteTenantData(ctx, a); return err }); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(zero, memgdprRowCounts(memgdprDump(t, ctx, data, a))); diff != "" {
			t.Fatalf("committed deletion left rows (-want +got):\n%s", diff)
		}
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		_, src, data, a, _, _ := setup(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		for _, tb := range src.DataTables(a) {
			if err := src.ScanData(cctx, a, tb.Name, nil, func(eusaas.DataRow) error { return nil }); err != context.Canceled {
				t.Fatalf("scan %s = %v", tb.Name, err)
			}
		}
		if _, err := src.DeleteTenantData(cctx, a); err != context.Canceled {
			t.Fatalf("delete = %v", err)
		}
		if diff := cmp.Diff(c.counts, memgdprRowCounts(memgdprDump(t, ctx, data, a))); diff != "" {
			t.Fatalf("canceled deletion removed rows (-want +got):\n%s", diff)
		}
	})

	t.Run("ScanStops", func(t *testing.T) {
		_, src, _, a, _, _ := setup(t)
		stop := eusaas.E(eusaas.Internal, "stop")
		for _, tb := range src.DataTables(a) {
			if c.counts[tb.Name] == 0 {
				continue
			}
			n := 0
			err := src.ScanData(ctx, a, tb.Name, nil, func(eusaas.DataRow) error { n++; return stop })
			if err != stop || n != 1 {
				t.Fatalf("%s: scan = %v after %d rows, want fn's error after 1", tb.Name, err, n)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s, src, data, a, b, _ := setup(t)
		wantB := memgdprRowCounts(memgdprDump(t, ctx, data, b))
		c2 := eusaas.NewTenantID()
		done := make(chan error, 8)
		for i := 0; i < 4; i++ {
			go func() {
				for j := 0; j < 20; j++ {
					for _, tn := range []eusaas.TenantID{a, b, c2} {
						for _, tb := range src.DataTables(tn) {
							// fn calls back into the store: the scan must not hold its lock.
							if err := src.ScanData(ctx, tn, tb.Name, nil, func(eusaas.DataRow) error { src.DataTables(tn); return nil }); err != nil {
								done <- err
								return
							}
						}
					}
				}
				done <- nil
			}()
		}
		for i := 0; i < 4; i++ {
			go func() {
				_, err := src.DeleteTenantData(ctx, a)
				done <- err
			}()
		}
		memgdprFill(t, ctx, s.ports(), c2) // writes while the others scan and delete
		for i := 0; i < 8; i++ {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff(zero, memgdprRowCounts(memgdprDump(t, ctx, data, a))); diff != "" {
			t.Fatalf("tenant A after concurrent deletes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantB, memgdprRowCounts(memgdprDump(t, ctx, data, b))); diff != "" {
			t.Fatalf("tenant B changed (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(c.counts, memgdprRowCounts(memgdprDump(t, ctx, data, c2))); diff != "" {
			t.Fatalf("tenant C written concurrently (-want +got):\n%s", diff)
		}
	})

	t.Run("RetentionDeletesOnlyExpired", func(t *testing.T) {
		_, src, data, a, b, _ := setup(t)
		before, beforeB := memgdprDump(t, ctx, data, a), memgdprDump(t, ctx, data, b)
		p := gdpr.Policy{TenantID: a, DefaultRetentionDays: 1, AuditLogRetentionDays: 30, BackupRetentionDays: 7, PIIRetentionDays: 1}
		// Nothing has expired yet: nothing changes.
		got, err := memgdprRetain(ctx, src, a, p, memgdprBase, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("retention counts before any expiry %v, want none", got)
		}
		// Ten years on, rows with expires_at (auth sessions and invitations) are past
		// retention and are deleted, as the Postgres adapter deletes them; anomalies (created_at
		// and deleted_at in Postgres) are soft-deleted and stay for the grace period; nothing
		// else is touched (billing purges its own dedup rows; invoices are kept).
		want, after := map[string]int{}, map[string][]string{}
		for k, v := range before {
			after[k] = v
		}
		for _, tb := range []string{"auth_sessions", "auth_invitations"} {
			if n := c.counts[tb]; n > 0 {
				want[tb+".hard_deleted"] = n
				after[tb] = nil
			}
		}
		if n := c.counts["anomalies"]; n > 0 {
			want["anomalies.soft_deleted"] = n
		}
		got, err = memgdprRetain(ctx, src, a, p, memgdprBase.AddDate(10, 0, 0), 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("retention counts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(memgdprRowCounts(after), memgdprRowCounts(memgdprDump(t, ctx, data, a))); diff != "" {
			t.Fatalf("retention left (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(beforeB, memgdprDump(t, ctx, data, b)); diff != "" {
			t.Fatalf("retention changed tenant B (-before +after):\n%s", diff)
		}
		got, err = memgdprRetain(ctx, src, a, p, memgdprBase.AddDate(10, 0, 0), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("second run counts %v, want none (idempotent)", got)
		}
	})
}
