// Package gdprfixture is the shared fixture of the tests that compare the module stores'
// GDPR view (eusaas.DataSource) across implementations: Fill runs the same operations against
// any implementation of the auth, billing and anomaly ports, and Dump renders what a
// gdpr.TenantData shows of a tenant with every value's Go type, so the memory stores can be
// tested as sources (gdpr/memgdpr) and compared with the Postgres ones (adapters/postgres).
package gdprfixture

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/gdpr"
)

// Ports are the stores Fill writes to.
type Ports struct {
	Users       auth.UserStore
	Sessions    auth.SessionStore
	Invitations auth.InvitationStore
	// APIKeys is optional: with it the tenant gets an active and a revoked API key.
	APIKeys auth.APIKeyStore
	// SSO is optional: with it the tenant gets an SSO configuration.
	SSO       auth.SSOConfigStore
	Usage     billing.UsageStore
	Invoices  billing.InvoiceStore
	Prices    billing.PriceStore
	Anomalies anomaly.Store
}

// value renders a DataRow value with its Go type, so two dumps are equal only when
// the values have the same types and the same values: "<type>:<JSON>", a JSON document
// canonical (compact, keys sorted) so that jsonb's own key order and spacing do not count.
func value(t *testing.T, v any) string {
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

// Seed names what Fill created.
type Seed struct {
	U1, U2         uuid.UUID
	Email1, Email2 string
	Pending        string // email of the unused invitation
	Invoice        uuid.UUID
	Anomaly        uuid.UUID
}

// ID derives a stable id per tenant and name, so two runs of the fixture for the same
// tenant (memory and Postgres) create identical rows.
func ID(tenant eusaas.TenantID, name string) uuid.UUID {
	return uuid.NewSHA1(uuid.UUID(tenant), []byte(name))
}

// Hash is the token hash Fill stores for a session or invitation named s.
func Hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// Base is the fixture's clock: every time Fill writes is relative to it (nanoseconds
// included, so the stores' truncation to microseconds shows).
var Base = time.Date(2026, 10, 5, 9, 30, 15, 123456789, time.UTC)

// Fill writes a little of everything for tenant: two users (one logged in, one
// deactivated), three sessions (rotated, revoked, live), two invitations (used, pending),
// three usage events (one with attributes naming user 1), an issued invoice with two lines,
// two price overrides and a tax rate, and two anomalies (one acknowledged, one suppressed).
func Fill(t *testing.T, ctx context.Context, p Ports, tenant eusaas.TenantID) Seed {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tag := tenant.String()[24:] // the random end: v7 ids made together share their start
	s := Seed{U1: ID(tenant, "u1"), U2: ID(tenant, "u2"),
		Email1: "owner-" + tag + "@example.eu", Email2: "member-" + tag + "@example.eu", Pending: "pending-" + tag + "@example.eu",
		Invoice: ID(tenant, "inv"), Anomaly: ID(tenant, "a1")}
	b := Base

	must(p.Users.CreateUser(ctx, auth.User{ID: s.U1, TenantID: tenant, Email: s.Email1, FullName: "Olga Owner", Role: auth.RoleOwner,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", IsActive: true, CreatedAt: b, UpdatedAt: b}))
	must(p.Users.RecordUserLogin(ctx, tenant, s.U1, b.Add(2*time.Hour)))
	must(p.Users.CreateUser(ctx, auth.User{ID: s.U2, TenantID: tenant, Email: s.Email2, FullName: "Max Member", Role: auth.RoleMember,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDI", IsActive: true, CreatedAt: b.Add(time.Minute), UpdatedAt: b.Add(time.Minute)}))
	must(p.Users.SetUserActive(ctx, tenant, s.U2, false, b.Add(3*time.Hour)))

	sess := func(name string, user uuid.UUID) uuid.UUID {
		id := ID(tenant, name)
		must(p.Sessions.CreateSession(ctx, auth.Session{ID: id, TenantID: tenant, UserID: user, TokenHash: Hash(name),
			CreatedAt: b, RotatedAt: b, ExpiresAt: b.Add(30 * 24 * time.Hour)}))
		return id
	}
	s1 := sess("s1", s.U1)
	must(p.Sessions.RotateSession(ctx, tenant, s1, 0, Hash("s1.1"), b.Add(time.Hour)))
	s2 := sess("s2", s.U1)
	must(p.Sessions.RevokeSession(ctx, tenant, s2, b.Add(90*time.Minute), "logout"))
	sess("s3", s.U2)

	must(p.Invitations.CreateInvitation(ctx, auth.Invitation{ID: ID(tenant, "i1"), TenantID: tenant, Email: s.Email1,
		Role: auth.RoleOwner, TokenHash: Hash("i1"), CreatedBy: "system", CreatedAt: b.Add(-time.Hour), ExpiresAt: b.Add(7 * 24 * time.Hour)}))
	if _, err := p.Invitations.ConsumeInvitation(ctx, tenant, Hash("i1"), b); err != nil {
		t.Fatal(err)
	}
	must(p.Invitations.CreateInvitation(ctx, auth.Invitation{ID: ID(tenant, "i2"), TenantID: tenant, Email: s.Pending,
		Role: auth.RoleMember, TokenHash: Hash("i2"), CreatedBy: s.U1.String(), CreatedAt: b, ExpiresAt: b.Add(7 * 24 * time.Hour)}))

	if p.APIKeys != nil {
		must(p.APIKeys.CreateAPIKey(ctx, auth.APIKey{ID: ID(tenant, "k1"), TenantID: tenant, Name: "backend",
			Scopes: []auth.Permission{auth.PermUsageWrite, auth.PermCostsRead}, Prefix: "eusk_k1", KeyHash: Hash("k1"),
			CreatedBy: s.U1.String(), CreatedAt: b}))
		must(p.APIKeys.TouchAPIKey(ctx, tenant, ID(tenant, "k1"), b.Add(time.Hour), b.Add(time.Hour)))
		must(p.APIKeys.CreateAPIKey(ctx, auth.APIKey{ID: ID(tenant, "k2"), TenantID: tenant, Name: "old",
			Scopes: []auth.Permission{auth.PermUsageWrite}, Prefix: "eusk_k2", KeyHash: Hash("k2"), CreatedBy: s.U2.String(), CreatedAt: b}))
		must(p.APIKeys.RevokeAPIKey(ctx, tenant, ID(tenant, "k2"), b.Add(2*time.Hour)))
	}
	if p.SSO != nil {
		must(p.SSO.PutSSOConfig(ctx, auth.SSOConfig{TenantID: tenant, Issuer: "https://idp.example", ClientID: "eusaas",
			SealedSecret: []byte("sealed"), AllowedDomains: []string{"acme.example", "a,b.example"}, DefaultRole: auth.RoleMember, Enforce: true, UpdatedAt: b}))
	}

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
	if _, _, err := p.Anomalies.Insert(ctx, anomaly.Anomaly{ID: ID(tenant, "a2"), TenantID: tenant, Day: day.AddDate(0, 0, 1),
		DetectedAt: b, Service: "MEMORY", Kind: anomaly.KindNewSpend, Rule: "new_spend", Severity: anomaly.SeverityLow,
		Actual: decimal.RequireFromString("7"), Impact: decimal.RequireFromString("7"), Description: "new spend on MEMORY",
		Acknowledged: true, AcknowledgedBy: s.U1.String(), AcknowledgedAt: &ackAt, SuppressedBy: &s.Anomaly}); err != nil {
		t.Fatal(err)
	}
	return s
}

// Dump scans every table of data for tenant (filtered by subjects when given): table
// -> rows rendered as "col=<type>:<JSON value>" lists, NULL as "col=<null>".
func Dump(t *testing.T, ctx context.Context, data gdpr.TenantData, tenant eusaas.TenantID, subjects ...string) map[string][]string {
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
					parts[i] = tb.Columns[i] + "=" + value(t, v)
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

// RowCounts returns the number of rows per table of a Dump.
func RowCounts(d map[string][]string) map[string]int {
	out := map[string]int{}
	for k, v := range d {
		out[k] = len(v)
	}
	return out
}
