//go:build ogenjourney

// Package journey drives the reference server through a client that ogen generated from the
// served OpenAPI document, over every operation the document lists. It is built only by
// clientgen's TestOgenJourney, which generates ./ogenclient first (it is not committed: it
// is what a user of the document would generate) and starts the server; run on its own it
// needs JOURNEY_URL and the operator's credentials.
package journey

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eusaas/eusaas/adapters/httpapi/clientgen/journey/ogenclient"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// recorder remembers every request the generated client sent and the status it got, so the
// test can check that the journey reached every operation of the document.
type recorder struct {
	mu   sync.Mutex
	sent []string // "METHOD /path status"
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.sent = append(r.sent, fmt.Sprintf("%s %s %d", req.Method, req.URL.EscapedPath(), res.StatusCode))
		r.mu.Unlock()
	}
	return res, err
}

// bearer is the ogen SecuritySource: whichever token the journey currently acts with.
type bearer struct{ token string }

func (b *bearer) Bearer(context.Context, ogenclient.OperationName) (ogenclient.Bearer, error) {
	return ogenclient.Bearer{Token: b.token}, nil
}

// as is a client acting as one principal.
type as struct {
	*ogenclient.Client
	tok *bearer
}

func newClient(t *testing.T, base string, rec *recorder) as {
	t.Helper()
	tok := &bearer{}
	c, err := ogenclient.NewClient(base, tok, ogenclient.WithClient(&http.Client{Transport: rec, Timeout: 30 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return as{c, tok}
}

// want asserts (called with an operation's results) that it answered with the success type T (anything else is one of
// the declared problems, printed) and returns it.
func want[T any](t *testing.T, op string) func(res any, err error) T {
	return func(res any, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		v, ok := res.(T)
		if !ok {
			b, _ := json.Marshal(res)
			t.Fatalf("%s: answered %T %s, want %T", op, res, b, *new(T))
		}
		return v
	}
}

// problem asserts that an operation answered with one of its declared 4xx problems (a
// made-up token, say) and returns the status.
func problem(t *testing.T, op string) func(res any, err error) int64 {
	return func(res any, err error) int64 {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		b, _ := json.Marshal(res)
		var p struct {
			Status int64  `json:"status"`
			Code   string `json:"code"`
		}
		if json.Unmarshal(b, &p) != nil || p.Status < 400 || p.Status >= 500 || p.Code == "" {
			t.Fatalf("%s: answered %T %s, want a 4xx problem", op, res, b)
		}
		return p.Status
	}
}

// totpCode is RFC 6238 (HMAC-SHA1, 6 digits, 30 s) computed by the journey itself.
func totpCode(key []byte, at time.Time) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff)%1_000_000)
}

func env(t *testing.T, k string) string {
	t.Helper()
	v := os.Getenv(k)
	if v == "" {
		t.Skipf("%s not set: run through clientgen's TestOgenJourney", k)
	}
	return v
}

func TestJourney(t *testing.T) {
	base := env(t, "JOURNEY_URL")
	opEmail, opPass := env(t, "JOURNEY_OPERATOR_EMAIL"), env(t, "JOURNEY_OPERATOR_PASSWORD")
	ctx := context.Background()
	rec := &recorder{}
	anon := newClient(t, base, rec)

	// Public endpoints.
	want[*ogenclient.HealthOK](t, "health")(anon.Health(ctx))
	want[*ogenclient.JWKSetHeaders](t, "jwks")(anon.AuthJwks(ctx))
	want[*ogenclient.AuditKeyOutputBody](t, "audit checkpoint key")(anon.GetAuditCheckpointKey(ctx))
	want[*ogenclient.AuditNoteKeyOutputBody](t, "audit note key")(anon.GetAuditNoteKey(ctx))
	want[*ogenclient.GDPRSigningKey](t, "gdpr signing key")(anon.GetGdprSigningKey(ctx))

	// The operator.
	op := newClient(t, base, rec)
	opTokens := want[*ogenclient.AuthLoginBodyHeaders](t, "operator login")(op.AuthLogin(ctx, &ogenclient.AuthLoginInputBody{Email: opEmail, Password: opPass}, ogenclient.AuthLoginParams{}))
	op.tok.token = opTokens.Response.AccessToken.Or("")
	want[*ogenclient.AuthUserBody](t, "operator me")(op.AuthMe(ctx))

	run := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	slug := "journey-" + run
	created := want[*ogenclient.TenancyCreatedBodyHeaders](t, "create tenant")(op.CreateTenant(ctx, &ogenclient.TenancyCreateInputBody{
		Name: "Journey " + run, Slug: slug, AdminEmail: "owner@" + slug + ".example",
		Tier: ogenclient.NewOptTenancyCreateInputBodyTier(ogenclient.TenancyCreateInputBodyTierPROFESSIONAL),
	}))
	tid := created.Response.ID.String()
	invitation, ok := created.Response.OwnerInvitation.Get()
	if !ok {
		t.Fatal("create tenant: no owner invitation")
	}
	var etag string
	waitFor(t, "tenant ACTIVE", func() bool {
		got := want[*ogenclient.TenantBodyHeaders](t, "get tenant")(op.GetTenant(ctx, ogenclient.GetTenantParams{ID: tid}))
		etag = got.ETag.Or("")
		return got.Response.Status == ogenclient.TenantBodyStatusACTIVE
	})
	list := want[*ogenclient.PaginatedTenantBody](t, "list tenants")(op.ListTenants(ctx, ogenclient.ListTenantsParams{
		Status: ogenclient.NewOptListTenantsStatus(ogenclient.ListTenantsStatusACTIVE), PageSize: ogenclient.NewOptInt64(100)}))
	if len(list.Items) == 0 {
		t.Fatal("list tenants: the ACTIVE tenant is missing")
	}
	want[*ogenclient.TenantBodyHeaders](t, "update tenant")(op.UpdateTenant(ctx,
		&ogenclient.TenancyPatchInputBody{Name: ogenclient.NewOptString("Journey " + run + " GmbH")},
		ogenclient.UpdateTenantParams{ID: tid, IfMatch: ogenclient.NewOptString(etag)}))

	// The owner registers with the invitation, and invites a member.
	owner := newClient(t, base, rec)
	ownerEmail, ownerPass := "owner@"+slug+".example", "Owner-Passw0rd!"
	ownerUser := want[*ogenclient.AuthUserBody](t, "register owner")(owner.AuthRegister(ctx, &ogenclient.AuthRegisterInputBody{
		Email: ownerEmail, Password: ownerPass, FullName: "Olga Owner", InvitationToken: ogenclient.NewOptString(invitation.Token),
	}, ogenclient.AuthRegisterParams{XTenantID: ogenclient.NewOptString(slug)}))
	login := func(c as, email, pass string) ogenclient.AuthLoginBody {
		tk := want[*ogenclient.AuthLoginBodyHeaders](t, "login "+email)(c.AuthLogin(ctx,
			&ogenclient.AuthLoginInputBody{Email: email, Password: pass}, ogenclient.AuthLoginParams{XTenantID: ogenclient.NewOptString(slug)}))
		c.tok.token = tk.Response.AccessToken.Or("")
		return tk.Response
	}
	// Two sessions: one ended by id, then "all but the current" with a third.
	first := login(owner, ownerEmail, ownerPass)
	refreshed := want[*ogenclient.AuthTokensBodyHeaders](t, "refresh")(owner.AuthRefresh(ctx,
		ogenclient.NewOptAuthRefreshBody(ogenclient.AuthRefreshBody{RefreshToken: ogenclient.NewOptString(first.RefreshToken.Or(""))})))
	owner.tok.token = refreshed.Response.AccessToken
	other := newClient(t, base, rec)
	login(other, ownerEmail, ownerPass)
	sessions := want[*ogenclient.AuthSessionsOutputBody](t, "list sessions")(owner.AuthListSessions(ctx))
	if len(sessions.Items) < 2 {
		t.Fatalf("list sessions: %d sessions, want 2", len(sessions.Items))
	}
	for _, s := range sessions.Items {
		if !s.Current {
			want[*ogenclient.AuthRevokeSessionNoContent](t, "revoke session")(owner.AuthRevokeSession(ctx, ogenclient.AuthRevokeSessionParams{SessionID: s.ID.String()}))
			break
		}
	}
	login(other, ownerEmail, ownerPass)
	want[*ogenclient.AuthRevokeOtherSessionsNoContent](t, "revoke other sessions")(owner.AuthRevokeOtherSessions(ctx))

	inv := want[*ogenclient.AuthInviteOutputBodyHeaders](t, "invite member")(owner.CreateInvitation(ctx,
		&ogenclient.AuthInviteInputBody{Email: "mia@" + slug + ".example", Role: ogenclient.AuthInviteInputBodyRoleMEMBER},
		ogenclient.CreateInvitationParams{ID: tid}))
	member := want[*ogenclient.AuthUserBody](t, "register member")(anon.AuthRegister(ctx, &ogenclient.AuthRegisterInputBody{
		Email: "mia@" + slug + ".example", Password: "Member-Passw0rd!", FullName: "Mia Member",
		InvitationToken: ogenclient.NewOptString(inv.Response.Token),
	}, ogenclient.AuthRegisterParams{XTenantID: ogenclient.NewOptString(slug)}))

	// User administration: the owner lists, reads and changes users; a pending invitation is
	// revoked; a user who joined is removed.
	users := want[*ogenclient.PaginatedAuthUserBody](t, "list users")(owner.ListTenantUsers(ctx, ogenclient.ListTenantUsersParams{ID: tid}))
	if len(users.Items) < 2 {
		t.Fatalf("list users: %d users, want the owner and the member", len(users.Items))
	}
	want[*ogenclient.AuthUserBody](t, "get user")(owner.GetTenantUser(ctx, ogenclient.GetTenantUserParams{ID: tid, UserID: member.ID.String()}))
	want[*ogenclient.AuthUserBody](t, "update user")(owner.UpdateTenantUser(ctx, &ogenclient.AuthUserPatchInputBody{
		FullName: ogenclient.NewOptString("Mia M. Member"), Role: ogenclient.NewOptAuthUserPatchInputBodyRole(ogenclient.AuthUserPatchInputBodyRoleVIEWER),
	}, ogenclient.UpdateTenantUserParams{ID: tid, UserID: member.ID.String()}))
	pending := want[*ogenclient.AuthInviteOutputBodyHeaders](t, "invite")(owner.CreateInvitation(ctx,
		&ogenclient.AuthInviteInputBody{Email: "pat@" + slug + ".example", Role: ogenclient.AuthInviteInputBodyRoleVIEWER},
		ogenclient.CreateInvitationParams{ID: tid}))
	invitations := want[*ogenclient.PaginatedAuthInvitationBody](t, "list invitations")(owner.ListInvitations(ctx, ogenclient.ListInvitationsParams{ID: tid}))
	if len(invitations.Items) == 0 {
		t.Fatal("list invitations: the pending invitation is missing")
	}
	want[*ogenclient.DeleteInvitationNoContent](t, "revoke invitation")(owner.DeleteInvitation(ctx, ogenclient.DeleteInvitationParams{ID: tid, InvID: pending.Response.ID.String()}))
	leaver := want[*ogenclient.AuthInviteOutputBodyHeaders](t, "invite leaver")(owner.CreateInvitation(ctx,
		&ogenclient.AuthInviteInputBody{Email: "leo@" + slug + ".example", Role: ogenclient.AuthInviteInputBodyRoleMEMBER},
		ogenclient.CreateInvitationParams{ID: tid}))
	leo := want[*ogenclient.AuthUserBody](t, "register leaver")(anon.AuthRegister(ctx, &ogenclient.AuthRegisterInputBody{
		Email: "leo@" + slug + ".example", Password: "Leaver-Passw0rd!", FullName: "Leo Leaver",
		InvitationToken: ogenclient.NewOptString(leaver.Response.Token),
	}, ogenclient.AuthRegisterParams{XTenantID: ogenclient.NewOptString(slug)}))
	want[*ogenclient.DeleteTenantUserNoContent](t, "remove user")(owner.DeleteTenantUser(ctx, ogenclient.DeleteTenantUserParams{ID: tid, UserID: leo.ID.String()}))

	// Passwords: the owner changes theirs; a reset is requested (202 whether or not the
	// account exists) and a made-up reset or verification token is refused with a problem.
	newPass := "Owner-Passw0rd!-2"
	want[*ogenclient.AuthPasswordChangeNoContent](t, "change password")(owner.AuthPasswordChange(ctx,
		&ogenclient.AuthPasswordChangeInputBody{CurrentPassword: ownerPass, NewPassword: newPass}))
	ownerPass = newPass
	want[*ogenclient.AuthPasswordForgotOutputBody](t, "forgot password")(anon.AuthPasswordForgot(ctx,
		&ogenclient.AuthPasswordForgotInputBody{Email: ownerEmail}, ogenclient.AuthPasswordForgotParams{XTenantID: ogenclient.NewOptString(slug)}))
	problem(t, "reset with an unknown token")(anon.AuthPasswordReset(ctx, &ogenclient.AuthPasswordResetInputBody{
		Token: strings.Repeat("A", 64), NewPassword: "Another-Passw0rd!"}))
	problem(t, "verify an unknown token")(anon.AuthEmailVerify(ctx, &ogenclient.AuthEmailVerifyInputBody{Token: strings.Repeat("B", 64)}))

	// A second factor for the member: enrol, confirm with a code the journey computes from
	// the secret (RFC 6238), log in with the next step's code, then remove it.
	mia := newClient(t, base, rec)
	miaEmail, miaPass := "mia@"+slug+".example", "Member-Passw0rd!"
	login(mia, miaEmail, miaPass)
	enrolled := want[*ogenclient.AuthTOTPEnrolOutputBodyHeaders](t, "enrol TOTP")(mia.AuthMfaTotpEnrol(ctx))
	totpKey, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enrolled.Response.Secret)
	if err != nil {
		t.Fatalf("enrol TOTP: secret %v", err)
	}
	now := time.Now()
	recovery := want[*ogenclient.AuthTOTPConfirmOutputBodyHeaders](t, "confirm TOTP")(mia.AuthMfaTotpConfirm(ctx,
		&ogenclient.AuthTOTPConfirmInputBody{Code: totpCode(totpKey, now)}))
	if len(recovery.Response.RecoveryCodes) != 10 {
		t.Fatalf("confirm TOTP: %d recovery codes", len(recovery.Response.RecoveryCodes))
	}
	challenge := login(mia, miaEmail, miaPass)
	if !challenge.MfaRequired.Or(false) || challenge.AccessToken.Set {
		t.Fatalf("login with MFA: no challenge")
	}
	mfaPair := want[*ogenclient.AuthTokensBodyHeaders](t, "login with TOTP")(mia.AuthLoginMfa(ctx, &ogenclient.AuthLoginMFAInputBody{
		MfaToken: challenge.MfaToken.Or(""), Code: totpCode(totpKey, now.Add(30*time.Second))}))
	mia.tok.token = mfaPair.Response.AccessToken
	want[*ogenclient.AuthMfaTotpDisableNoContent](t, "disable TOTP")(mia.AuthMfaTotpDisable(ctx,
		&ogenclient.AuthTOTPDisableInputBody{CurrentPassword: ogenclient.NewOptString(miaPass)}))

	// A metering agent: a service account ingests 30 days of usage with a spike yesterday.
	sa := want[*ogenclient.AuthCreateServiceAccountOutputBodyHeaders](t, "create service account")(op.CreateServiceAccount(ctx, &ogenclient.AuthCreateServiceAccountInputBody{Name: "journey agent " + run}))
	want[*ogenclient.PaginatedAuthServiceAccountBody](t, "list service accounts")(op.ListServiceAccounts(ctx, ogenclient.ListServiceAccountsParams{}))
	agent := newClient(t, base, rec)
	agentTok := want[*ogenclient.AuthClientTokenOutputBodyHeaders](t, "client credentials")(agent.AuthToken(ctx, &ogenclient.AuthTokenInputBody{
		GrantType: ogenclient.AuthTokenInputBodyGrantTypeClientCredentials, ClientID: sa.Response.ClientID, ClientSecret: sa.Response.ClientSecret,
	}))
	agent.tok.token = agentTok.Response.AccessToken

	want[*ogenclient.BillingPriceOutputBody](t, "set price")(op.SetPrice(ctx, &ogenclient.BillingPriceInputBody{
		Model: ogenclient.BillingPriceInputBodyModelPerUnit, UnitPrice: ogenclient.NewOptString("0.04"),
	}, ogenclient.SetPriceParams{ID: tid, Resource: "CPU"}))
	today := time.Now().UTC().Truncate(24 * time.Hour)
	yesterday := today.AddDate(0, 0, -1)
	var events []ogenclient.BillingUsageEvent
	for d := 30; d >= 1; d-- {
		day := today.AddDate(0, 0, -d)
		q := decimal.NewFromInt(100 + int64(d%7)) // a steady load with a small weekly wobble
		if day.Equal(yesterday) {
			q = decimal.NewFromInt(2500)
		}
		events = append(events, ogenclient.BillingUsageEvent{
			ID: fmt.Sprintf("%s-%d", run, d), ResourceType: "CPU",
			Quantity: q, Timestamp: day.Add(12 * time.Hour),
		})
	}
	ingested := want[*ogenclient.BillingUsageOutputBody](t, "ingest usage")(agent.IngestUsage(ctx,
		&ogenclient.BillingUsageInputBody{Events: events}, ogenclient.IngestUsageParams{ID: tid}))
	if ingested.Accepted != int64(len(events)) {
		b, _ := json.Marshal(ingested)
		t.Fatalf("ingest usage: %s", b)
	}

	// The tenant's own backend: an API key with usage:write and costs:read.
	key := want[*ogenclient.AuthCreateAPIKeyOutputBodyHeaders](t, "create API key")(owner.CreateAPIKey(ctx,
		&ogenclient.AuthCreateAPIKeyInputBody{Name: "backend " + run, Scopes: []string{"usage:write", "costs:read"}}, ogenclient.CreateAPIKeyParams{ID: tid}))
	backend := newClient(t, base, rec)
	backend.tok.token = key.Response.Key
	want[*ogenclient.BillingUsageOutputBody](t, "ingest usage with an API key")(backend.IngestUsage(ctx, &ogenclient.BillingUsageInputBody{
		Events: []ogenclient.BillingUsageEvent{{ID: run + "-key", ResourceType: "CPU",
			Quantity: decimal.NewFromInt(1), Timestamp: time.Now().UTC().Add(-time.Minute)}}}, ogenclient.IngestUsageParams{ID: tid}))
	want[*ogenclient.BillingBreakdown](t, "current costs with an API key")(backend.GetCurrentCosts(ctx, ogenclient.GetCurrentCostsParams{ID: tid}))
	keys := want[*ogenclient.PaginatedAuthAPIKeyBody](t, "list API keys")(owner.ListAPIKeys(ctx, ogenclient.ListAPIKeysParams{ID: tid}))
	if len(keys.Items) != 1 || keys.Items[0].LastUsedAt.Null {
		t.Fatalf("list API keys: %+v", keys.Items)
	}
	want[*ogenclient.RevokeAPIKeyNoContent](t, "revoke API key")(owner.RevokeAPIKey(ctx, ogenclient.RevokeAPIKeyParams{ID: tid, KeyID: key.Response.ID.String()}))
	problem(t, "revoked API key")(backend.GetCurrentCosts(ctx, ogenclient.GetCurrentCostsParams{ID: tid}))

	// Single sign-on: configured by the OWNER (the secret never comes back). The IdP here
	// cannot be discovered, so start answers a problem instead of its 302; the callback
	// with a state the server never issued is refused. (cmd/eusaas TestSSOOverHTTP runs the
	// whole flow against a real OpenID Provider.)
	sso := want[*ogenclient.AuthSSOBody](t, "put SSO")(owner.PutTenantSSO(ctx, &ogenclient.AuthPutSSOInputBody{
		Issuer: "https://idp.invalid", ClientID: "eusaas", ClientSecret: ogenclient.NewOptString("s3cret"),
		AllowedDomains: []string{slug + ".example"}, DefaultRole: ogenclient.NewOptAuthPutSSOInputBodyDefaultRole(ogenclient.AuthPutSSOInputBodyDefaultRoleVIEWER)},
		ogenclient.PutTenantSSOParams{ID: tid}))
	if !sso.ClientSecretSet {
		t.Fatalf("put SSO: %+v", sso)
	}
	want[*ogenclient.AuthSSOBody](t, "get SSO")(owner.GetTenantSSO(ctx, ogenclient.GetTenantSSOParams{ID: tid}))
	problem(t, "start SSO with an IdP that cannot be discovered")(owner.StartSSO(ctx, ogenclient.StartSSOParams{Tenant: slug}))
	problem(t, "SSO callback with an unknown state")(owner.SSOCallback(ctx, ogenclient.SSOCallbackParams{
		State: ogenclient.NewOptString("never-issued"), Code: ogenclient.NewOptString("x")}))
	want[*ogenclient.DeleteTenantSSONoContent](t, "delete SSO")(owner.DeleteTenantSSO(ctx, ogenclient.DeleteTenantSSOParams{ID: tid}))

	// Costs, as the owner.
	want[*ogenclient.BillingBreakdown](t, "costs")(owner.GetCosts(ctx, ogenclient.GetCostsParams{
		ID: tid, StartDate: today.AddDate(0, 0, -30).Format(time.DateOnly), EndDate: yesterday.Format(time.DateOnly),
		GroupBy: ogenclient.NewOptGetCostsGroupBy(ogenclient.GetCostsGroupByDay)}))
	want[*ogenclient.BillingBreakdown](t, "current costs")(owner.GetCurrentCosts(ctx, ogenclient.GetCurrentCostsParams{ID: tid}))
	want[*ogenclient.BillingProjectionOutputBody](t, "projection")(owner.GetCostProjection(ctx, ogenclient.GetCostProjectionParams{ID: tid}))

	// Anomalies: the server's own CLI scans the days just ingested (the daily job would).
	scan := exec.Command(env(t, "JOURNEY_EUSAAS"), "anomaly", "scan",
		"--from", today.AddDate(0, 0, -3).Format(time.DateOnly), "--to", yesterday.Format(time.DateOnly))
	if out, err := scan.CombinedOutput(); err != nil {
		t.Fatalf("eusaas anomaly scan: %v\n%s", err, out)
	}
	anomalies := want[*ogenclient.PaginatedAnomalyBody](t, "list anomalies")(owner.ListAnomalies(ctx, ogenclient.ListAnomaliesParams{ID: tid}))
	if len(anomalies.Items) == 0 {
		t.Fatal("list anomalies: the spike of yesterday was not found")
	}
	aid := anomalies.Items[0].ID.String()
	want[*ogenclient.AnomalyBody](t, "acknowledge anomaly")(owner.AcknowledgeAnomaly(ctx, ogenclient.AcknowledgeAnomalyParams{ID: tid, AnomalyID: aid}))
	want[*ogenclient.AnomalyBody](t, "anomaly feedback")(owner.AnomalyFeedback(ctx,
		&ogenclient.AnomalyFeedbackInputBody{Verdict: ogenclient.AnomalyFeedbackInputBodyVerdictEXPECTED, Note: ogenclient.NewOptString("load test")},
		ogenclient.AnomalyFeedbackParams{ID: tid, AnomalyID: aid}))
	want[*ogenclient.AnomalyAlertsOut](t, "put anomaly alerts")(owner.PutAnomalyAlerts(ctx, &ogenclient.AnomalyAlertsIn{
		Subscriptions: []ogenclient.AlertSubscriptionIn{{
			Frequency: ogenclient.AlertSubscriptionInFrequencyDAILY, ThresholdAmount: ogenclient.NewOptString("10"),
			Channels: []ogenclient.AlertChannelIn{{Type: ogenclient.AlertChannelInTypeEmail, Address: ogenclient.NewOptString("ops@" + slug + ".example")}},
		}},
	}, ogenclient.PutAnomalyAlertsParams{ID: tid}))
	want[*ogenclient.AnomalyAlertsOut](t, "get anomaly alerts")(owner.GetAnomalyAlerts(ctx, ogenclient.GetAnomalyAlertsParams{ID: tid}))

	// Invoicing: the operator sets the seller and a tax rate; the owner gives the tenant's
	// billing profile (a consumer in the seller's state: domestic VAT); last month's invoice is
	// drafted, issued with its EN 16931 documents, paid and then credited in full.
	seller := ogenclient.BillingSeller{LegalName: "Journey Platform GmbH", Email: "billing@platform.example", VatID: "DE136695976",
		Address: ogenclient.BillingAddress{Line1: "Hauptstr. 1", PostalCode: ogenclient.NewOptString("10115"), City: "Berlin", Country: "DE"},
		Iban:    ogenclient.NewOptString("DE89370400440532013000"), Bic: ogenclient.NewOptString("COBADEFFXXX")}
	want[*ogenclient.BillingSeller](t, "put seller")(op.PutSeller(ctx, &seller))
	want[*ogenclient.BillingSeller](t, "get seller")(op.GetSeller(ctx))
	want[*ogenclient.BillingTaxRatesOutputBody](t, "list tax rates")(op.ListTaxRates(ctx))
	want[*ogenclient.BillingMetric](t, "create metric")(op.CreateMetric(ctx, &ogenclient.BillingMetricInputBody{Code: "JOURNEY_GPU_HOURS", Name: "GPU time",
		Unit: "GPU-hour", Aggregation: ogenclient.BillingMetricInputBodyAggregationSUM,
		Price: ogenclient.NewOptBillingPrice(ogenclient.BillingPrice{Model: ogenclient.BillingPriceModelPerUnit, UnitPrice: ogenclient.NewOptString("1.20")})}))
	want[*ogenclient.BillingMetricsOutputBody](t, "list metrics")(op.ListMetrics(ctx))
	want[*ogenclient.BillingPlan](t, "create plan")(op.CreatePlan(ctx, &ogenclient.BillingPlanCreateInputBody{Code: "journey-starter", Name: "Starter",
		MonthlyFee: "30.00", Included: ogenclient.NewOptBillingPlanCreateInputBodyIncluded(ogenclient.BillingPlanCreateInputBodyIncluded{"CPU": "100"})}))
	want[*ogenclient.BillingPlansOutputBody](t, "list plans")(op.ListPlans(ctx))
	want[*ogenclient.BillingPlan](t, "get plan")(op.GetPlan(ctx, ogenclient.GetPlanParams{Code: "journey-starter"}))
	want[*ogenclient.BillingPlan](t, "update plan")(op.UpdatePlan(ctx, &ogenclient.BillingPlanFields{MonthlyFee: ogenclient.NewOptString("35.00")},
		ogenclient.UpdatePlanParams{Code: "journey-starter"}))
	want[*ogenclient.BillingTaxRatesOutputBody](t, "put tax rate")(op.PutTaxRate(ctx, &ogenclient.BillingTaxRateInputBody{Country: "DE", Percent: "19", From: "2007-01-01"}))
	want[*ogenclient.BillingProfile](t, "put billing profile")(owner.PutBillingProfile(ctx, &ogenclient.BillingProfileBody{
		LegalName: "Olga Owner", Email: ownerEmail, CustomerType: ogenclient.BillingProfileBodyCustomerTypeCONSUMER,
		Address: ogenclient.BillingAddress{Line1: "Nebenstr. 2", PostalCode: ogenclient.NewOptString("80331"), City: "München", Country: "DE"},
	}, ogenclient.PutBillingProfileParams{ID: tid}))
	want[*ogenclient.BillingProfile](t, "get billing profile")(owner.GetBillingProfile(ctx, ogenclient.GetBillingProfileParams{ID: tid}))

	period := today.AddDate(0, 0, -today.Day()).Format("2006-01")
	draft := want[*ogenclient.BillingInvoice](t, "draft invoice")(op.DraftInvoice(ctx, &ogenclient.BillingDraftInputBody{Period: period}, ogenclient.DraftInvoiceParams{ID: tid}))
	want[*ogenclient.PaginatedBillingInvoice](t, "list invoices")(owner.ListInvoices(ctx, ogenclient.ListInvoicesParams{ID: tid}))
	want[*ogenclient.BillingInvoice](t, "get invoice")(owner.GetInvoice(ctx, ogenclient.GetInvoiceParams{ID: tid, InvID: draft.ID}))
	want[*ogenclient.BillingInvoice](t, "issue invoice")(op.IssueInvoice(ctx, ogenclient.IssueInvoiceParams{ID: tid, InvID: draft.ID}))
	want[*ogenclient.GetInvoiceUblOKHeaders](t, "invoice UBL")(owner.GetInvoiceUbl(ctx, ogenclient.GetInvoiceUblParams{ID: tid, InvID: draft.ID}))
	want[*ogenclient.GetInvoiceCiiOKHeaders](t, "invoice CII")(owner.GetInvoiceCii(ctx, ogenclient.GetInvoiceCiiParams{ID: tid, InvID: draft.ID}))
	want[*ogenclient.GetInvoicePdfOKHeaders](t, "invoice PDF")(owner.GetInvoicePdf(ctx, ogenclient.GetInvoicePdfParams{ID: tid, InvID: draft.ID}))
	want[*ogenclient.BillingInvoice](t, "pay invoice")(op.PayInvoice(ctx, ogenclient.PayInvoiceParams{ID: tid, InvID: draft.ID}))
	want[*ogenclient.VoidInvoiceConflict](t, "void a paid invoice")(op.VoidInvoice(ctx, ogenclient.VoidInvoiceParams{ID: tid, InvID: draft.ID}))
	cn := want[*ogenclient.BillingInvoice](t, "credit note")(op.CreateCreditNote(ctx, &ogenclient.BillingCreditInputBody{Reason: "goodwill"},
		ogenclient.CreateCreditNoteParams{ID: tid, InvID: draft.ID}))
	want[*ogenclient.PaginatedBillingInvoice](t, "list credit notes")(owner.ListCreditNotes(ctx, ogenclient.ListCreditNotesParams{ID: tid}))
	want[*ogenclient.BillingInvoice](t, "get credit note")(owner.GetCreditNote(ctx, ogenclient.GetCreditNoteParams{ID: tid, CnID: cn.ID}))
	want[*ogenclient.GetCreditNoteUblOKHeaders](t, "credit note UBL")(owner.GetCreditNoteUbl(ctx, ogenclient.GetCreditNoteUblParams{ID: tid, CnID: cn.ID}))
	want[*ogenclient.GetCreditNoteCiiOKHeaders](t, "credit note CII")(owner.GetCreditNoteCii(ctx, ogenclient.GetCreditNoteCiiParams{ID: tid, CnID: cn.ID}))
	want[*ogenclient.GetCreditNotePdfOKHeaders](t, "credit note PDF")(owner.GetCreditNotePdf(ctx, ogenclient.GetCreditNotePdfParams{ID: tid, CnID: cn.ID}))

	// The audit trails.
	entries := want[*ogenclient.PaginatedAuditEntry](t, "tenant audit log")(owner.ListTenantAuditLog(ctx, ogenclient.ListTenantAuditLogParams{ID: tid}))
	if len(entries.Items) == 0 {
		t.Fatal("tenant audit log is empty")
	}
	want[*ogenclient.AuditVerification](t, "verify tenant audit")(owner.VerifyTenantAuditLog(ctx, ogenclient.VerifyTenantAuditLogParams{ID: tid}))
	want[*ogenclient.AuditConsistency](t, "tenant audit consistency")(owner.TenantAuditConsistency(ctx, ogenclient.TenantAuditConsistencyParams{
		ID: tid, From: ogenclient.NewOptInt64(1), To: ogenclient.NewOptInt64(int64(len(entries.Items)))}))
	want[*ogenclient.AuditProof](t, "prove tenant entry")(owner.ProveTenantAuditEntry(ctx, ogenclient.ProveTenantAuditEntryParams{ID: tid, EntryID: entries.Items[0].ID}))
	platform := want[*ogenclient.PaginatedAuditEntry](t, "platform audit log")(op.ListPlatformAuditLog(ctx, ogenclient.ListPlatformAuditLogParams{}))
	want[*ogenclient.AuditVerification](t, "verify platform audit")(op.VerifyPlatformAuditLog(ctx))
	want[*ogenclient.AuditConsistency](t, "platform audit consistency")(op.PlatformAuditConsistency(ctx, ogenclient.PlatformAuditConsistencyParams{
		From: ogenclient.NewOptInt64(1), To: ogenclient.NewOptInt64(2)}))
	want[*ogenclient.AuditProof](t, "prove platform entry")(op.ProvePlatformAuditEntry(ctx, ogenclient.ProvePlatformAuditEntryParams{EntryID: platform.Items[0].ID}))

	// GDPR: retention, a legal hold, an export downloaded by its token, a subject erasure.
	want[*ogenclient.GDPRRetention](t, "get retention")(owner.GetGdprRetention(ctx, ogenclient.GetGdprRetentionParams{ID: tid}))
	want[*ogenclient.GDPRRetention](t, "put retention")(owner.PutGdprRetention(ctx, &ogenclient.GDPRRetentionRequest{
		DefaultRetentionDays: 365, PiiRetentionDays: 180, AuditLogRetentionDays: 2555, BackupRetentionDays: 30,
	}, ogenclient.PutGdprRetentionParams{ID: tid}))
	hold := want[*ogenclient.GDPRLegalHold](t, "create legal hold")(op.CreateLegalHold(ctx, &ogenclient.GDPRLegalHoldRequest{Reason: "journey " + run}, ogenclient.CreateLegalHoldParams{ID: tid}))
	want[*ogenclient.GDPRLegalHoldList](t, "list legal holds")(op.ListLegalHolds(ctx, ogenclient.ListLegalHoldsParams{ID: tid}))
	want[*ogenclient.DeleteLegalHoldNoContent](t, "delete legal hold")(op.DeleteLegalHold(ctx, ogenclient.DeleteLegalHoldParams{ID: tid, HoldID: hold.ID}))
	export := want[*ogenclient.GDPRExportJob](t, "create export")(owner.CreateGdprExport(ctx, &ogenclient.GDPRExportRequest{
		Format: ogenclient.GDPRExportRequestFormatJSON, IncludeAuditLogs: ogenclient.NewOptBool(true)}, ogenclient.CreateGdprExportParams{ID: tid}))
	var download string
	waitFor(t, "export COMPLETED", func() bool {
		got := want[*ogenclient.GDPRExportJob](t, "get export")(owner.GetGdprExport(ctx, ogenclient.GetGdprExportParams{ID: tid, JobID: export.JobID}))
		if got.Status == ogenclient.GDPRExportJobStatusFAILED {
			t.Fatalf("export failed: %v", got.ErrorMessage)
		}
		download = got.DownloadURL.Or("")
		return got.Status == ogenclient.GDPRExportJobStatusCOMPLETED
	})
	token := download[strings.LastIndex(download, "/")+1:]
	archive := want[*ogenclient.DownloadGdprExportOK](t, "download export")(anon.DownloadGdprExport(ctx, ogenclient.DownloadGdprExportParams{Token: token}))
	if n, _ := archive.Data.Read(make([]byte, 1)); n == 0 {
		t.Fatal("download export: empty archive")
	}
	erasure := want[*ogenclient.CreateGdprErasureAccepted](t, "create erasure")(owner.CreateGdprErasure(ctx,
		&ogenclient.GDPRErasureRequest{DataSubjectID: member.ID.String(), Reason: ogenclient.NewOptString("Art. 17 request")},
		ogenclient.CreateGdprErasureParams{ID: tid}))
	// The same request again is the same job (200), as the document declares.
	want[*ogenclient.CreateGdprErasureOK](t, "repeat erasure")(owner.CreateGdprErasure(ctx,
		&ogenclient.GDPRErasureRequest{DataSubjectID: member.ID.String(), Reason: ogenclient.NewOptString("Art. 17 request")},
		ogenclient.CreateGdprErasureParams{ID: tid}))
	waitFor(t, "erasure COMPLETED", func() bool {
		got := want[*ogenclient.GDPRErasureJob](t, "get erasure")(owner.GetGdprErasure(ctx, ogenclient.GetGdprErasureParams{ID: tid, JobID: erasure.JobID}))
		return got.Status == ogenclient.GDPRErasureJobStatusCOMPLETED
	})

	// Data-subject requests: a rectification asked for by e-mail is verified, extended and
	// completed; an objection is rejected.
	rect := want[*ogenclient.GDPRDSR](t, "create request")(owner.CreateGdprRequest(ctx, &ogenclient.GDPRDSRCreate{
		Type: ogenclient.GDPRDSRCreateTypeRECTIFICATION, Email: ogenclient.NewOptString("someone@" + slug + ".example"),
		Details: ogenclient.NewOptString("my surname is misspelt")}, ogenclient.CreateGdprRequestParams{ID: tid}))
	want[*ogenclient.GDPRDSR](t, "verify identity")(owner.VerifyGdprRequestIdentity(ctx, &ogenclient.GDPRDSRVerify{
		DataSubjectID: ogenclient.NewOptString(ownerUser.ID.String()), Method: ogenclient.NewOptString("signed-in account")},
		ogenclient.VerifyGdprRequestIdentityParams{ID: tid, Rid: rect.ID}))
	want[*ogenclient.GDPRDSR](t, "extend request")(owner.ExtendGdprRequest(ctx, &ogenclient.GDPRDSRReason{Reason: "records in three systems"},
		ogenclient.ExtendGdprRequestParams{ID: tid, Rid: rect.ID}))
	done := want[*ogenclient.GDPRDSR](t, "complete request")(owner.CompleteGdprRequest(ctx,
		ogenclient.NewOptGDPRDSRComplete(ogenclient.GDPRDSRComplete{Outcome: ogenclient.NewOptString("surname corrected")}),
		ogenclient.CompleteGdprRequestParams{ID: tid, Rid: rect.ID}))
	if done.Status != ogenclient.GDPRDSRStatusCOMPLETED || !done.Evidence.Set {
		t.Fatalf("complete request: status %s, evidence %v", done.Status, done.Evidence.Set)
	}
	objection := want[*ogenclient.GDPRDSR](t, "create objection")(owner.CreateGdprRequest(ctx, &ogenclient.GDPRDSRCreate{
		Type: ogenclient.GDPRDSRCreateTypeOBJECTION, DataSubjectID: ogenclient.NewOptString(ownerUser.ID.String())}, ogenclient.CreateGdprRequestParams{ID: tid}))
	want[*ogenclient.GDPRDSR](t, "reject request")(owner.RejectGdprRequest(ctx, &ogenclient.GDPRDSRReason{Reason: "manifestly unfounded"},
		ogenclient.RejectGdprRequestParams{ID: tid, Rid: objection.ID}))
	want[*ogenclient.GDPRDSR](t, "get request")(owner.GetGdprRequest(ctx, ogenclient.GetGdprRequestParams{ID: tid, Rid: rect.ID}))
	want[*ogenclient.PaginatedGDPRDSR](t, "list requests")(owner.ListGdprRequests(ctx, ogenclient.ListGdprRequestsParams{ID: tid}))

	// The operator's registers: a breach recorded and notified, the Art. 30 record.
	breach := want[*ogenclient.GDPRBreach](t, "record breach")(op.CreateGdprBreach(ctx, &ogenclient.GDPRBreachCreate{
		DetectedAt: time.Now().UTC().Add(-time.Hour).Truncate(time.Second), Description: "a laptop with an export was lost",
		Categories: []string{"contact data"}, AffectedTenants: []string{tid}, ApproxSubjects: 2,
		Measures: ogenclient.NewOptString("disk encryption verified; export link revoked")}))
	want[*ogenclient.GDPRBreachList](t, "list breaches")(op.ListGdprBreaches(ctx))
	want[*ogenclient.GDPRBreach](t, "get breach")(op.GetGdprBreach(ctx, ogenclient.GetGdprBreachParams{BreachID: breach.ID}))
	want[*ogenclient.GDPRBreach](t, "breach notified")(op.NotifyGdprBreach(ctx, ogenclient.OptGDPRBreachNotified{}, ogenclient.NotifyGdprBreachParams{BreachID: breach.ID}))
	want[*ogenclient.RecordsOfProcessing](t, "records of processing")(op.GetGdprRecordsOfProcessing(ctx))
	md := want[*ogenclient.GetGdprRecordsOfProcessingMarkdownOK](t, "records of processing, Markdown")(op.GetGdprRecordsOfProcessingMarkdown(ctx))
	if n, _ := md.Data.Read(make([]byte, 1)); n == 0 {
		t.Fatal("records of processing: empty Markdown")
	}

	// Lifecycle: suspend, activate, log out, delete and follow the erasure to its certificate.
	want[*ogenclient.TenantBodyHeaders](t, "suspend")(op.SuspendTenant(ctx, ogenclient.SuspendTenantParams{ID: tid}))
	want[*ogenclient.TenantBodyHeaders](t, "activate")(op.ActivateTenant(ctx, ogenclient.ActivateTenantParams{ID: tid}))
	refreshOwner := login(owner, ownerEmail, ownerPass)
	want[*ogenclient.AuthLogoutNoContent](t, "logout")(owner.AuthLogout(ctx,
		ogenclient.NewOptAuthRefreshBody(ogenclient.AuthRefreshBody{RefreshToken: ogenclient.NewOptString(refreshOwner.RefreshToken.Or(""))})))
	want[*ogenclient.RevokeServiceAccountNoContent](t, "revoke service account")(op.RevokeServiceAccount(ctx, ogenclient.RevokeServiceAccountParams{ID: sa.Response.ID.String()}))
	want[*ogenclient.TenantBody](t, "delete tenant")(op.DeleteTenant(ctx, ogenclient.DeleteTenantParams{ID: tid}))
	waitFor(t, "tenant erasure certificate", func() bool {
		got := want[*ogenclient.GDPRTenantErasure](t, "get tenant erasure")(op.GetTenantErasure(ctx, ogenclient.GetTenantErasureParams{ID: tid}))
		return got.Certificate.Set
	})

	requireEveryOperation(t, rec.sent)
}

// requireEveryOperation fails unless each operation of the served document was sent at
// least once and none of them answered 5xx.
func requireEveryOperation(t *testing.T, sent []string) {
	t.Helper()
	doc, err := os.ReadFile(env(t, "JOURNEY_OPENAPI"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &spec); err != nil {
		t.Fatal(err)
	}
	type route struct {
		method string
		re     *regexp.Regexp
		id     string
	}
	var routes []route
	param := regexp.MustCompile(`\\\{[^}]+\\\}`)
	for path, ops := range spec.Paths {
		re := regexp.MustCompile("^" + param.ReplaceAllString(regexp.QuoteMeta(path), `[^/]+`) + "$")
		for method, o := range ops {
			routes = append(routes, route{strings.ToUpper(method), re, o.OperationID})
		}
	}
	reached := map[string]bool{}
	for _, s := range sent {
		f := strings.Fields(s)
		if strings.HasPrefix(f[2], "5") {
			t.Errorf("%s answered %s", f[1], f[2])
		}
		for _, r := range routes {
			if r.method == f[0] && r.re.MatchString(f[1]) {
				reached[r.id] = true
			}
		}
	}
	var missing []string
	for _, r := range routes {
		if !reached[r.id] {
			missing = append(missing, r.id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the journey never called %d of %d operations: %s", len(missing), len(routes), strings.Join(missing, ", "))
	}
	t.Logf("%d requests through the ogen client reached %d of %d operations", len(sent), len(reached), len(routes))
}

// waitFor polls cond (jobs run in the background) for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 600 {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
