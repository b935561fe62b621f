package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/httpapi/httpapitest"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/internal/pgtest"
	"github.com/eusaas/eusaas/memtx"
	"github.com/eusaas/eusaas/tenancy"
	"github.com/eusaas/eusaas/tenancy/memtenancy"
)

type tenancyIssuer struct{}

func (tenancyIssuer) IssueOwnerInvitation(_ context.Context, id eusaas.TenantID, _ string) (string, time.Time, error) {
	return "inv-" + id.Hex(), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), nil
}

type tenancyFixture struct {
	*httpapitest.Harness
	svc   *tenancy.Service
	store *memtenancy.Store
	prov  *memtenancy.Provisioner
	op    string
}

func newTenancyFixture(t *testing.T) *tenancyFixture {
	f := &tenancyFixture{store: memtenancy.NewStore(), prov: memtenancy.NewProvisioner(1)}
	svc, err := tenancy.NewService(tenancy.Deps{
		Store: f.store, Provisioner: f.prov, Tx: memtx.NewTxRunner(), Cache: memtenancy.NewCache(time.Minute, nil), Invitations: tenancyIssuer{},
	}, tenancy.Options{})
	require.NoError(t, err)
	f.svc = svc
	// The real service is the tenant gate, as in the wired server.
	f.Harness = httpapitest.New(t, func(o *httpapi.Options) { o.TenantGate = f.svc })
	httpapi.RegisterTenancy(f.Server, f.svc)
	f.op = f.Operator()
	return f
}

type tenancyResp struct {
	httpapi.TenantBody
	OwnerInvitation *struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"owner_invitation"`
}

func (f *tenancyFixture) create(t *testing.T, slug string) tenancyResp {
	t.Helper()
	r := f.Do(http.MethodPost, "/api/v1/tenants", map[string]any{"name": "Org " + slug, "slug": slug, "admin_email": "owner@" + slug + ".example"}, f.op)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var out tenancyResp
	r.JSON(t, &out)
	return out
}

// stored returns the tenant as stored, to prove refused requests changed nothing.
func (f *tenancyFixture) stored(t *testing.T, id string) tenancy.Tenant {
	t.Helper()
	tid, err := eusaas.ParseTenantID(id)
	require.NoError(t, err)
	x, err := f.store.Get(context.Background(), tid)
	require.NoError(t, err)
	return x
}

func TestTenancyCreate(t *testing.T) {
	f := newTenancyFixture(t)
	r := f.Do(http.MethodPost, "/api/v1/tenants", map[string]any{
		"name": "Acme", "slug": "acme", "tier": "STARTER", "admin_email": "owner@acme.example",
		"data_residency_region": "eu-west-3", "metadata": map[string]string{"crm": "7"},
	}, f.op)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var out tenancyResp
	r.JSON(t, &out)
	require.Equal(t, "ACTIVE", out.Status)
	require.Equal(t, "STARTER", out.Tier)
	require.Equal(t, "eu-west-3", out.DataResidencyRegion)
	require.Equal(t, "t_"+strings.ReplaceAll(out.ID, "-", ""), out.SchemaName)
	require.Equal(t, "1000.00", out.Settings.CostAlertThreshold)
	require.Equal(t, 50, out.Settings.MaxUsers)
	require.NotNil(t, out.OwnerInvitation)
	require.True(t, strings.HasPrefix(out.OwnerInvitation.Token, "inv-"))
	require.Equal(t, `"3"`, r.Header.Get("ETag"))
	require.Equal(t, "/api/v1/tenants/"+out.ID, r.Header.Get("Location"))
	require.Equal(t, "no-store", r.Header.Get("Cache-Control"), "the owner invitation token must not be cached")
	require.Contains(t, string(r.Body), `"settings":{"max_users":50,"storage_limit_gb":100,"api_rate_limit":1000,"data_retention_days":365,"cost_alert_threshold":"1000.00","anomaly_min_impact":"5.00","allow_self_registration":false,"require_email_verification":false,"mfa_required":false}`)
	require.Regexp(t, `"created_at":"\d{4}-\d\d-\d\dT[^"]+Z"`, string(r.Body))
	tid, _ := eusaas.ParseTenantID(out.ID)
	_, ok := f.prov.SchemaVersion(tid)
	require.True(t, ok, "schema provisioned")
}

func TestTenancyCreateBadInput(t *testing.T) {
	f := newTenancyFixture(t)
	f.create(t, "taken")
	cases := []struct {
		body   any
		status int
		loc    string
	}{
		{map[string]any{"name": "X", "slug": "Bad_Slug", "admin_email": "a@b.example"}, 422, "body.slug"},
		{map[string]any{"name": "X", "slug": "ok", "admin_email": "a@b.example", "data_residency_region": "eu-west-2"}, 422, "body.data_residency_region"},
		{map[string]any{"name": "X", "slug": "ok", "admin_email": "a@b.example", "data_residency_region": "us-east-1"}, 422, "body.data_residency_region"},
		{map[string]any{"name": "X", "slug": "ok", "admin_email": "nope"}, 422, "body.admin_email"},
		{map[string]any{"name": "X", "slug": "ok", "admin_email": "a@b.example", "tier": "GOLD"}, 422, "body.tier"},
		{map[string]any{"name": "X", "slug": "taken", "admin_email": "a@b.example"}, 409, ""},
	}
	for _, c := range cases {
		r := f.Do(http.MethodPost, "/api/v1/tenants", c.body, f.op)
		require.Equal(t, c.status, r.Status, "%v: %s", c.body, r.Body)
		p := r.Problem(t)
		if c.loc != "" {
			var locs []string
			for _, e := range p.Errors {
				locs = append(locs, e.Location)
			}
			require.Contains(t, locs, c.loc, "%s", r.Body)
		} else {
			require.Equal(t, "slug_taken", p.Code)
		}
	}
	l, err := f.svc.List(context.Background(), tenancy.ListFilter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, 1, l.Total, "no bad request stored anything")
}

func TestTenancyGetAndList(t *testing.T) {
	f := newTenancyFixture(t)
	a := f.create(t, "acme")
	f.create(t, "beta")
	c := f.create(t, "gamma")
	r := f.Do(http.MethodPost, "/api/v1/tenants/"+c.ID+"/suspend", nil, f.op)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	r = f.Do(http.MethodGet, "/api/v1/tenants/"+a.ID, nil, f.op)
	require.Equal(t, http.StatusOK, r.Status)
	var got httpapi.TenantBody
	r.JSON(t, &got)
	require.Equal(t, a.TenantBody, got)
	require.Equal(t, `"3"`, r.Header.Get("ETag"))
	require.NotContains(t, string(r.Body), "owner_invitation")

	r = f.Do(http.MethodGet, "/api/v1/tenants?page=1&page_size=2", nil, f.op)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var page httpapi.Paginated[httpapi.TenantBody]
	r.JSON(t, &page)
	require.Len(t, page.Items, 2)
	require.Equal(t, httpapi.Pagination{Page: 1, PageSize: 2, TotalItems: 3, TotalPages: 2}, page.Pagination)
	r = f.Do(http.MethodGet, "/api/v1/tenants?status=SUSPENDED", nil, f.op)
	require.Equal(t, http.StatusOK, r.Status)
	r.JSON(t, &page)
	require.Len(t, page.Items, 1)
	require.Equal(t, c.ID, page.Items[0].ID)
	require.Equal(t, 20, page.Pagination.PageSize)

	require.Equal(t, 422, f.Do(http.MethodGet, "/api/v1/tenants?status=NOPE", nil, f.op).Status)
	require.Equal(t, 422, f.Do(http.MethodGet, "/api/v1/tenants?page_size=101", nil, f.op).Status)
	require.Equal(t, 422, f.Do(http.MethodGet, "/api/v1/tenants/not-a-uuid", nil, f.op).Status)
	r = f.Do(http.MethodGet, "/api/v1/tenants/"+eusaas.NewTenantID().String(), nil, f.op)
	require.Equal(t, 404, r.Status)
	require.Equal(t, "tenant_not_found", r.Problem(t).Code)
	require.Equal(t, 401, f.Do(http.MethodGet, "/api/v1/tenants/"+a.ID, nil, "").Status)
}

func TestTenancyPatch(t *testing.T) {
	f := newTenancyFixture(t)
	a := f.create(t, "acme")
	r := f.Do(http.MethodPatch, "/api/v1/tenants/"+a.ID, map[string]any{
		"name": "Acme GmbH", "tier": "ENTERPRISE", "metadata": map[string]any{"crm": "9", "team": "x"},
		"settings": map[string]any{"max_users": 500, "cost_alert_threshold": "250.50", "allow_self_registration": true},
	}, f.op, "If-Match", `"3"`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var got httpapi.TenantBody
	r.JSON(t, &got)
	require.Equal(t, "Acme GmbH", got.Name)
	require.Equal(t, "ENTERPRISE", got.Tier)
	require.Equal(t, 500, got.Settings.MaxUsers)
	require.Equal(t, 100, got.Settings.StorageLimitGB)
	require.Equal(t, "250.50", got.Settings.CostAlertThreshold)
	require.True(t, got.Settings.AllowSelfRegistration)
	require.Equal(t, `"4"`, r.Header.Get("ETag"))

	// Metadata merge: null removes a key.
	r = f.Do(http.MethodPatch, "/api/v1/tenants/"+a.ID, `{"metadata": {"team": null, "new": "1"}}`, f.op)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	got = httpapi.TenantBody{} // decoding into a used map would merge into it
	r.JSON(t, &got)
	require.Equal(t, map[string]string{"crm": "9", "new": "1"}, got.Metadata)

	before := f.stored(t, a.ID)
	for _, c := range []struct {
		body    any
		ifMatch string
		status  int
	}{
		{map[string]any{"name": "Stale"}, `"3"`, 412},
		{map[string]any{"name": "Stale"}, `W/"5"`, 412},
		{map[string]any{"name": "Stale"}, `garbage`, 412},
		{map[string]any{"settings": map[string]any{"max_users": 0}}, "", 422},
		{map[string]any{"settings": map[string]any{"cost_alert_threshold": "lots"}}, "", 422},
		{map[string]any{"settings": map[string]any{"data_retention_days": 5000}}, "", 422},
		{map[string]any{"tier": "GOLD"}, "", 422},
		{map[string]any{"name": ""}, "", 422},
	} {
		h := []string{}
		if c.ifMatch != "" {
			h = []string{"If-Match", c.ifMatch}
		}
		r := f.Do(http.MethodPatch, "/api/v1/tenants/"+a.ID, c.body, f.op, h...)
		require.Equal(t, c.status, r.Status, "%v %s: %s", c.body, c.ifMatch, r.Body)
		p := r.Problem(t)
		if c.status == 412 {
			require.Equal(t, "precondition_failed", p.Code)
		}
	}
	require.Equal(t, before, f.stored(t, a.ID), "refused patches change nothing")

	r = f.Do(http.MethodPatch, "/api/v1/tenants/"+a.ID, map[string]any{"name": "Current"}, f.op, "If-Match", `"5"`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = f.Do(http.MethodPatch, "/api/v1/tenants/"+eusaas.NewTenantID().String(), map[string]any{"name": "x"}, f.op)
	require.Equal(t, 404, r.Status)
}

// Every endpoint against the roles of SPEC.md, and tenant isolation: a token of tenant B on
// tenant A's path is 403 everywhere, and nothing changes.
func TestTenancyRolesAndIsolation(t *testing.T) {
	f := newTenancyFixture(t)
	a := f.create(t, "tenant-a")
	b := f.create(t, "tenant-b")
	aID, _ := eusaas.ParseTenantID(a.ID)
	bID, _ := eusaas.ParseTenantID(b.ID)
	ownerA, _ := f.User(aID, auth.RoleOwner)
	adminA, _ := f.User(aID, auth.RoleAdmin)
	memberA, _ := f.User(aID, auth.RoleMember)
	ownerB, _ := f.User(bID, auth.RoleOwner)
	pathA := "/api/v1/tenants/" + a.ID
	before := f.stored(t, a.ID)

	// B's owner on A: 403 on every tenant-scoped endpoint.
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, pathA}, {http.MethodPatch, pathA}, {http.MethodDelete, pathA},
		{http.MethodPost, pathA + "/suspend"}, {http.MethodPost, pathA + "/activate"},
	} {
		var body any
		if c.method == http.MethodPatch {
			body = map[string]any{"name": "hijacked"}
		}
		r := f.Do(c.method, c.path, body, ownerB)
		require.Equal(t, http.StatusForbidden, r.Status, "%s %s: %s", c.method, c.path, r.Body)
		r.Problem(t)
	}
	require.Equal(t, before, f.stored(t, a.ID))

	// Tenant users cannot create or list tenants.
	require.Equal(t, 403, f.Do(http.MethodPost, "/api/v1/tenants", map[string]any{"name": "X", "slug": "xx", "admin_email": "a@b.example"}, ownerA).Status)
	require.Equal(t, 403, f.Do(http.MethodGet, "/api/v1/tenants", nil, ownerA).Status)

	// OWNER and ADMIN read their own; MEMBER does not.
	for _, tok := range []string{ownerA, adminA} {
		r := f.Do(http.MethodGet, pathA, nil, tok)
		require.Equal(t, 200, r.Status, "%s", r.Body)
	}
	require.Equal(t, 403, f.Do(http.MethodGet, pathA, nil, memberA).Status)
	require.Equal(t, 403, f.Do(http.MethodPatch, pathA, map[string]any{"name": "m"}, memberA).Status)

	// ADMIN patches name, metadata and tenant-side settings, but not tier or quotas.
	r := f.Do(http.MethodPatch, pathA, map[string]any{"name": "By admin", "settings": map[string]any{"data_retention_days": 30, "allow_self_registration": true}}, adminA)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	for _, body := range []any{
		map[string]any{"tier": "ENTERPRISE"},
		map[string]any{"settings": map[string]any{"max_users": 10000}},
		map[string]any{"settings": map[string]any{"api_rate_limit": 10000}},
	} {
		require.Equal(t, 403, f.Do(http.MethodPatch, pathA, body, ownerA).Status, "%v", body)
	}
	// Only operators suspend and activate; ADMIN cannot delete, OWNER can.
	require.Equal(t, 403, f.Do(http.MethodPost, pathA+"/suspend", nil, ownerA).Status)
	require.Equal(t, 403, f.Do(http.MethodPost, pathA+"/activate", nil, ownerA).Status)
	require.Equal(t, 403, f.Do(http.MethodDelete, pathA, nil, adminA).Status)

	// A suspended tenant's users are refused with 403 tenant_suspended; operators still manage it.
	r = f.Do(http.MethodPost, pathA+"/suspend", nil, f.op)
	require.Equal(t, 200, r.Status)
	r = f.Do(http.MethodGet, pathA, nil, ownerA)
	require.Equal(t, 403, r.Status)
	require.Equal(t, "tenant_suspended", r.Problem(t).Code)
	require.Equal(t, 200, f.Do(http.MethodGet, pathA, nil, f.op).Status)
	r = f.Do(http.MethodPost, pathA+"/activate", nil, f.op)
	require.Equal(t, 200, r.Status)

	// B is untouched by all of it.
	r = f.Do(http.MethodGet, "/api/v1/tenants/"+b.ID, nil, ownerB)
	require.Equal(t, 200, r.Status)
	var got httpapi.TenantBody
	r.JSON(t, &got)
	require.Equal(t, b.TenantBody, got)

	// The owner deletes its tenant; afterwards its users get 404, the operator sees DELETED.
	r = f.Do(http.MethodDelete, pathA, nil, ownerA)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	require.Equal(t, 404, f.Do(http.MethodGet, pathA, nil, ownerA).Status)
}

func TestTenancyLifecycleEndpoints(t *testing.T) {
	f := newTenancyFixture(t)
	a := f.create(t, "acme")
	path := "/api/v1/tenants/" + a.ID
	tid, _ := eusaas.ParseTenantID(a.ID)

	// Activating an ACTIVE tenant: 409 naming the status, nothing changes.
	before := f.stored(t, a.ID)
	r := f.Do(http.MethodPost, path+"/activate", nil, f.op)
	require.Equal(t, 409, r.Status)
	p := r.Problem(t)
	require.Equal(t, "invalid_transition", p.Code)
	require.Contains(t, p.Detail, "ACTIVE")
	require.Equal(t, before, f.stored(t, a.ID))

	r = f.Do(http.MethodPost, path+"/suspend", nil, f.op)
	require.Equal(t, 200, r.Status)
	var got httpapi.TenantBody
	r.JSON(t, &got)
	require.Equal(t, "SUSPENDED", got.Status)
	r = f.Do(http.MethodPost, path+"/suspend", nil, f.op)
	require.Equal(t, 409, r.Status)
	require.Contains(t, r.Problem(t).Detail, "SUSPENDED")

	r = f.Do(http.MethodDelete, path, nil, f.op)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	r.JSON(t, &got)
	require.Equal(t, "DELETED", got.Status)
	require.Empty(t, got.AdminEmail)
	require.NotNil(t, got.DeletedAt)
	_, ok := f.prov.SchemaVersion(tid)
	require.False(t, ok, "schema dropped")

	r = f.Do(http.MethodGet, path, nil, f.op)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &got)
	require.Equal(t, "DELETED", got.Status)
	// Erasing it again is a no-op answered with the existing tombstone (GDPR Art. 17).
	r = f.Do(http.MethodDelete, path, nil, f.op)
	require.Equal(t, 200, r.Status)
	var again httpapi.TenantBody
	r.JSON(t, &again)
	require.Equal(t, got, again)
	for _, c := range []struct{ method, path string }{{http.MethodPost, path + "/activate"}, {http.MethodPatch, path}} {
		var body any
		if c.method == http.MethodPatch {
			body = map[string]any{"name": "zombie"}
		}
		r := f.Do(c.method, c.path, body, f.op)
		require.Equal(t, 409, r.Status, "%s %s", c.method, c.path)
		require.Contains(t, r.Problem(t).Detail, "DELETED")
	}
	require.Equal(t, 404, f.Do(http.MethodDelete, "/api/v1/tenants/"+eusaas.NewTenantID().String(), nil, f.op).Status)
	require.Equal(t, 422, f.Do(http.MethodPost, "/api/v1/tenants/nope/suspend", nil, f.op).Status)
}

func TestTenancyOpenAPI(t *testing.T) {
	f := newTenancyFixture(t)
	r := f.Do(http.MethodGet, "/openapi.json", nil, "")
	require.Equal(t, 200, r.Status)
	for _, id := range []string{"create-tenant", "list-tenants", "get-tenant", "update-tenant", "suspend-tenant", "activate-tenant", "delete-tenant"} {
		require.Contains(t, string(r.Body), fmt.Sprintf("%q", id))
	}
}

// The REST flow on Postgres: after POST /tenants the schema t_<hex> exists with the tenant
// tables; after DELETE it is gone and GET shows DELETED.
func TestTenancyPostgresEndToEnd(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	schemas, err := postgres.EmbeddedTenantSchemas(db)
	require.NoError(t, err)
	svc, err := tenancy.NewService(tenancy.Deps{Store: postgres.NewTenantStore(db), Provisioner: schemas, Tx: db}, tenancy.Options{})
	require.NoError(t, err)
	h := httpapitest.New(t, func(o *httpapi.Options) { o.TenantGate = svc })
	httpapi.RegisterTenancy(h.Server, svc)
	op := h.Operator()
	schemaCount := func(name string) (n int) {
		require.NoError(t, db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", name).Scan(&n))
		return n
	}

	r := h.Do(http.MethodPost, "/api/v1/tenants", map[string]any{"name": "Acme", "slug": "acme", "admin_email": "owner@acme.example"}, op)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var created httpapi.TenantBody
	r.JSON(t, &created)
	require.Equal(t, 1, schemaCount(created.SchemaName))
	var tables int
	require.NoError(t, db.Pool.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'tenant_info'", created.SchemaName).Scan(&tables))
	require.Equal(t, 1, tables)

	r = h.Do(http.MethodDelete, "/api/v1/tenants/"+created.ID, nil, op)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, 0, schemaCount(created.SchemaName))
	r = h.Do(http.MethodGet, "/api/v1/tenants/"+created.ID, nil, op)
	require.Equal(t, http.StatusOK, r.Status)
	var got httpapi.TenantBody
	r.JSON(t, &got)
	require.Equal(t, "DELETED", got.Status)
	require.Empty(t, got.AdminEmail)
	require.NotNil(t, got.DeletedAt)
}

// With an erasure that continues in the background (the gdpr saga), DELETE answers 202 with
// the DEPROVISIONING tenant; its users are locked out at once.
func TestTenancyDeleteAccepted(t *testing.T) {
	f := newTenancyFixture(t)
	a := f.create(t, "acme")
	aID, _ := eusaas.ParseTenantID(a.ID)
	owner, _ := f.User(aID, auth.RoleOwner)
	f.svc.SetDeprovisioner(tenancy.DeprovisionerFunc(func(context.Context, eusaas.TenantID) error { return nil }))
	r := f.Do(http.MethodDelete, "/api/v1/tenants/"+a.ID, nil, owner)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	var got httpapi.TenantBody
	r.JSON(t, &got)
	require.Equal(t, "DEPROVISIONING", got.Status)
	r = f.Do(http.MethodGet, "/api/v1/tenants/"+a.ID, nil, owner)
	require.Equal(t, http.StatusForbidden, r.Status)
	// DELETE again resumes (here: schedules again) rather than conflicting.
	require.Equal(t, http.StatusAccepted, f.Do(http.MethodDelete, "/api/v1/tenants/"+a.ID, nil, f.op).Status)
}

// settings.anomaly_min_impact: shown as a decimal string, set like cost_alert_threshold (by
// operators and by the tenant's OWNER or ADMIN, never by another tenant), 422 naming the
// field when it is not an amount in 0.01..1000000000 with cents.
func TestTenancyPatchAnomalyMinImpact(t *testing.T) {
	f := newTenancyFixture(t)
	a := f.create(t, "acme")
	require.Equal(t, "5.00", a.Settings.AnomalyMinImpact)
	aID, _ := eusaas.ParseTenantID(a.ID)
	b := f.create(t, "other")
	bID, _ := eusaas.ParseTenantID(b.ID)
	ownerA, _ := f.User(aID, auth.RoleOwner)
	adminA, _ := f.User(aID, auth.RoleAdmin)
	memberA, _ := f.User(aID, auth.RoleMember)
	ownerB, _ := f.User(bID, auth.RoleOwner)
	path := "/api/v1/tenants/" + a.ID

	for _, c := range []struct{ tok, value, want string }{
		{f.op, "250.5", "250.50"}, {ownerA, "0.01", "0.01"}, {adminA, "1000000000", "1000000000.00"},
	} {
		r := f.Do(http.MethodPatch, path, map[string]any{"settings": map[string]any{"anomaly_min_impact": c.value}}, c.tok)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var got httpapi.TenantBody
		r.JSON(t, &got)
		require.Equal(t, c.want, got.Settings.AnomalyMinImpact)
		require.Equal(t, "1000.00", got.Settings.CostAlertThreshold, "other settings kept")
		require.Equal(t, c.want, f.stored(t, a.ID).Settings.AnomalyMinImpact.StringFixed(2))
	}

	before := f.stored(t, a.ID)
	for _, bad := range []string{"0", "-1", "0.001", "1000000000.01", "lots", ""} {
		r := f.Do(http.MethodPatch, path, map[string]any{"settings": map[string]any{"anomaly_min_impact": bad}}, f.op)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%q: %s", bad, r.Body)
		p := r.Problem(t)
		require.Len(t, p.Errors, 1, "%q: %s", bad, r.Body)
		require.Equal(t, "body.settings.anomaly_min_impact", p.Errors[0].Location, bad)
	}
	for _, tok := range []string{memberA, ownerB} {
		r := f.Do(http.MethodPatch, path, map[string]any{"settings": map[string]any{"anomaly_min_impact": "7"}}, tok)
		require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
	}
	require.Equal(t, before, f.stored(t, a.ID), "refused patches change nothing")
	r := f.Do(http.MethodGet, "/api/v1/tenants/"+b.ID, nil, ownerB)
	var gotB httpapi.TenantBody
	r.JSON(t, &gotB)
	require.Equal(t, "5.00", gotB.Settings.AnomalyMinImpact, "tenant B untouched")
}
