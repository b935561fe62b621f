package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/adapters/httpapi/httpapitest"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/audittest"
	"github.com/eusaas/eusaas/audit/memaudit"
	"github.com/eusaas/eusaas/auth"
)

type auditEnv struct {
	*httpapitest.Harness
	svc   *audit.Service
	store *memaudit.Store
	clock *eusaas.FakeClock
}

func newAuditEnv(t *testing.T) *auditEnv {
	h := httpapitest.New(t)
	store := memaudit.NewStore()
	clock := eusaas.NewFakeClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	svc, err := audit.NewService(audit.Deps{Store: store, Keys: store}, audit.Options{Clock: clock, Signer: ed25519.NewKeyFromSeed(make([]byte, 32))})
	require.NoError(t, err)
	httpapi.RegisterAudit(h.Server, svc)
	return &auditEnv{Harness: h, svc: svc, store: store, clock: clock}
}

type auditListBody struct {
	Items      []httpapi.AuditEntry `json:"items"`
	Pagination httpapi.Pagination   `json:"pagination"`
}

func TestAuditLogRoutes(t *testing.T) {
	ctx := context.Background()
	e := newAuditEnv(t)
	a, b := e.NewTenant(), e.NewTenant()
	tokA, userA := e.User(a, auth.RoleViewer)
	tokB, _ := e.User(b, auth.RoleOwner)
	for i := range 5 {
		ev := eusaas.AuditEvent{TenantID: a, Actor: eusaas.Actor{Kind: eusaas.ActorUser, ID: userA, TenantID: a},
			Action: audit.ActionUpdate, ResourceType: "invoice", ResourceID: "inv", Changes: map[string]any{"i": i}}
		if i == 0 {
			ev.Action, ev.ResourceType = audit.ActionLogin, "session"
			ev.Meta = eusaas.RequestMeta{IP: "192.0.2.10", UserAgent: "ua/1"}
			ev.Personal = map[string]string{"email": "a@example.org"}
		}
		require.NoError(t, e.svc.Record(ctx, ev))
		e.clock.Advance(24 * time.Hour)
	}
	require.NoError(t, e.svc.Record(ctx, eusaas.AuditEvent{TenantID: b, Actor: eusaas.System, Action: audit.ActionCreate}))

	path := "/api/v1/tenants/" + a.String() + "/audit-log"
	var body auditListBody
	r := e.Do("GET", path+"?page_size=2", nil, tokA)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	r.JSON(t, &body)
	require.Equal(t, httpapi.Pagination{Page: 1, PageSize: 2, TotalItems: 5, TotalPages: 3}, body.Pagination)
	require.Equal(t, int64(5), body.Items[0].Seq)
	require.Equal(t, float64(4), body.Items[0].Changes["i"])

	r = e.Do("GET", path+"?action=LOGIN", nil, tokA)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &body)
	require.Len(t, body.Items, 1)
	login := body.Items[0]
	require.Equal(t, "192.0.2.10", *login.IPAddress)
	require.Equal(t, "ua/1", *login.UserAgent)
	require.Equal(t, "a@example.org", login.Personal["email"])
	require.Equal(t, userA, *login.UserID)
	require.Empty(t, login.ErasedFields)

	// Dates are inclusive days: 03-11 .. 03-12 holds seqs 2 and 3.
	r = e.Do("GET", path+"?start_date=2026-03-11&end_date=2026-03-12&resource_type=invoice&user_id="+userA, nil, tokA)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &body)
	require.Len(t, body.Items, 2)
	require.Equal(t, int64(3), body.Items[0].Seq)

	r = e.Do("GET", path+"?start_date=11-03-2026", nil, tokA)
	require.Equal(t, 422, r.Status)
	require.Equal(t, "query.start_date", r.Problem(t).Errors[0].Location)
	r = e.Do("GET", path+"?start_date=2026-03-12&end_date=2026-03-10", nil, tokA)
	require.Equal(t, 422, r.Status)

	// Isolation and access.
	require.Equal(t, 403, e.Do("GET", path, nil, tokB).Status, "tenant B's token on A's log")
	require.Equal(t, 403, e.Do("GET", path+"/verify", nil, tokB).Status)
	require.Equal(t, 401, e.Do("GET", path, nil, "").Status)
	r = e.Do("GET", "/api/v1/tenants/"+b.String()+"/audit-log", nil, tokB)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &body)
	require.Equal(t, 1, body.Pagination.TotalItems, "B sees only its own chain")
	e.Gate.Set(a, "SUSPENDED")
	require.Equal(t, 403, e.Do("GET", path, nil, tokA).Status)
	e.Gate.Set(a, "ACTIVE")
	require.Equal(t, 200, e.Do("GET", path, nil, e.Operator()).Status, "operators read any tenant's log")

	// Erasure shows as null values named in erased_fields.
	_, err := e.svc.EraseSubject(ctx, a, userA)
	require.NoError(t, err)
	r = e.Do("GET", path+"?action=LOGIN", nil, tokA)
	r.JSON(t, &body)
	login = body.Items[0]
	require.Nil(t, login.IPAddress)
	require.Nil(t, login.UserAgent)
	require.Contains(t, login.Personal, "email")
	require.Nil(t, login.Personal["email"])
	require.ElementsMatch(t, []string{"email", "ip_address", "user_agent"}, login.ErasedFields)
	require.NotContains(t, string(r.Body), "192.0.2.10")

	// Verification, then tampering.
	var ver httpapi.AuditVerification
	r = e.Do("GET", path+"/verify", nil, tokA)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	r.JSON(t, &ver)
	require.True(t, ver.Valid)
	require.Equal(t, int64(5), ver.EntriesVerified)
	require.Nil(t, ver.Finding)
	require.NotNil(t, ver.Checkpoint)
	require.NotEmpty(t, ver.Checkpoint.Signature)
	e.store.Rewrite(a, func(es []audit.Entry, h audit.Head) ([]audit.Entry, audit.Head) {
		es[2].ResourceID = "forged"
		return es, h
	})
	r = e.Do("GET", path+"/verify", nil, tokA)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &ver)
	require.False(t, ver.Valid)
	require.Equal(t, audit.Finding{Seq: 3, Kind: audit.KindModified, Detail: ver.Finding.Detail}, *ver.Finding)
}

func TestAuditPlatformRoutes(t *testing.T) {
	ctx := context.Background()
	e := newAuditEnv(t)
	a, b := e.NewTenant(), e.NewTenant()
	op := eusaas.Actor{Kind: eusaas.ActorOperator, ID: "op-1"}
	for _, tn := range []eusaas.TenantID{a, b} {
		require.NoError(t, e.svc.Record(ctx, eusaas.AuditEvent{Actor: op, Action: audit.ActionTenantSuspended,
			ResourceType: audit.ResourceTenant, ResourceID: tn.String()}))
	}
	opTok := e.Operator()
	userTok, _ := e.User(a, auth.RoleOwner)
	var body auditListBody
	r := e.Do("GET", "/api/v1/audit-log", nil, opTok)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	r.JSON(t, &body)
	require.Equal(t, 2, body.Pagination.TotalItems)
	r = e.Do("GET", "/api/v1/audit-log?tenant_id="+a.String(), nil, opTok)
	r.JSON(t, &body)
	require.Len(t, body.Items, 1)
	require.Equal(t, a.String(), *body.Items[0].TenantID)
	require.Equal(t, 422, e.Do("GET", "/api/v1/audit-log?tenant_id=nope", nil, opTok).Status)
	require.Equal(t, 403, e.Do("GET", "/api/v1/audit-log", nil, userTok).Status, "tenant owners are not operators")
	require.Equal(t, 403, e.Do("GET", "/api/v1/audit-log/verify", nil, userTok).Status)
	require.Equal(t, 401, e.Do("GET", "/api/v1/audit-log", nil, "").Status)

	var ver httpapi.AuditVerification
	r = e.Do("GET", "/api/v1/audit-log/verify", nil, opTok)
	require.Equal(t, 200, r.Status)
	r.JSON(t, &ver)
	require.True(t, ver.Valid)
	require.Equal(t, int64(2), ver.HeadSize)

	var key struct {
		Algorithm string `json:"algorithm"`
		KeyID     string `json:"key_id"`
		PEM       string `json:"pem"`
	}
	r = e.Do("GET", "/api/v1/audit-log/checkpoint-key", nil, "")
	require.Equal(t, 200, r.Status, "the key is public")
	r.JSON(t, &key)
	require.Equal(t, "Ed25519", key.Algorithm)
	require.Equal(t, audit.KeyID(e.svc.PublicKey()), key.KeyID)
	require.Contains(t, key.PEM, "BEGIN PUBLIC KEY")
}

func b64decode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

// A client holding nothing but the published note key checks an entry's inclusion and the
// consistency of two checkpoints, with an RFC 6962 verifier that is not the server's code.
func TestAuditProofRoutes(t *testing.T) {
	ctx := context.Background()
	e := newAuditEnv(t)
	a, b := e.NewTenant(), e.NewTenant()
	tokA, _ := e.User(a, auth.RoleViewer)
	tokB, _ := e.User(b, auth.RoleOwner)
	var ids []string
	for i := range 13 {
		en, err := e.svc.RecordEntry(ctx, eusaas.AuditEvent{TenantID: a, Actor: eusaas.System, Action: audit.ActionUpdate, ResourceID: fmt.Sprint(i)})
		require.NoError(t, err)
		ids = append(ids, en.ID.String())
	}
	var key struct {
		VerifierKey  string `json:"verifier_key"`
		OriginPrefix string `json:"origin_prefix"`
	}
	r := e.Do("GET", "/api/v1/audit/checkpoint-key", nil, "")
	require.Equal(t, 200, r.Status, "%s", r.Body)
	r.JSON(t, &key)
	verifier, err := note.NewVerifier(key.VerifierKey)
	require.NoError(t, err)

	open := func(cp string) (int64, []byte) {
		n, err := note.Open([]byte(cp), note.VerifierList(verifier))
		require.NoError(t, err)
		lines := strings.Split(n.Text, "\n")
		require.Equal(t, key.OriginPrefix+"/"+a.String(), lines[0])
		size, err := strconv.ParseInt(lines[1], 10, 64)
		require.NoError(t, err)
		return size, b64decode(t, lines[2])
	}
	base := "/api/v1/tenants/" + a.String() + "/audit-log/"
	var sizes []int64
	var roots [][]byte
	for _, i := range []int{6, 2, 12} {
		var p httpapi.AuditProof
		r := e.Do("GET", base+ids[i]+"/proof", nil, tokA)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		r.JSON(t, &p)
		require.NotNil(t, p.Checkpoint)
		size, root := open(*p.Checkpoint)
		require.Equal(t, size, p.TreeSize)
		require.Equal(t, int64(i), p.LeafIndex)
		var proof [][]byte
		for _, h := range p.InclusionProof {
			proof = append(proof, b64decode(t, h))
		}
		require.True(t, audittest.RFCVerifyInclusion(p.LeafIndex, size, b64decode(t, p.LeafHash), proof, root))
		sizes, roots = append(sizes, size), append(roots, root)
	}
	var c httpapi.AuditConsistency
	r = e.Do("GET", fmt.Sprintf("%sconsistency?from=%d&to=%d", base, sizes[0], sizes[2]), nil, tokA)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	r.JSON(t, &c)
	var proof [][]byte
	for _, h := range c.Proof {
		proof = append(proof, b64decode(t, h))
	}
	require.True(t, audittest.RFCVerifyConsistency(sizes[0], sizes[2], proof, roots[0], roots[2]))

	require.Equal(t, 403, e.Do("GET", base+ids[0]+"/proof", nil, tokB).Status)
	require.Equal(t, 403, e.Do("GET", base+"consistency?from=1&to=2", nil, tokB).Status)
	require.Equal(t, 404, e.Do("GET", base+uuid.NewString()+"/proof", nil, tokA).Status)
	require.Equal(t, 404, e.Do("GET", "/api/v1/tenants/"+b.String()+"/audit-log/"+ids[0]+"/proof", nil, tokB).Status,
		"A's entry is not in B's chain")
	require.Equal(t, 422, e.Do("GET", base+"nope/proof", nil, tokA).Status)
	for _, q := range []string{"from=0&to=2", "from=3&to=2", "from=1&to=99", "from=x&to=2", "to=2"} {
		r := e.Do("GET", base+"consistency?"+q, nil, tokA)
		require.Equal(t, 422, r.Status, "%s: %s", q, r.Body)
	}

	// The platform chain, for operators.
	en, err := e.svc.RecordEntry(ctx, eusaas.AuditEvent{Actor: eusaas.Actor{Kind: eusaas.ActorOperator, ID: "op"}, Action: audit.ActionCreate})
	require.NoError(t, err)
	var p httpapi.AuditProof
	r = e.Do("GET", "/api/v1/audit-log/"+en.ID.String()+"/proof", nil, e.Operator())
	require.Equal(t, 200, r.Status, "%s", r.Body)
	r.JSON(t, &p)
	require.Equal(t, int64(0), p.LeafIndex)
	require.Equal(t, 403, e.Do("GET", "/api/v1/audit-log/"+en.ID.String()+"/proof", nil, tokA).Status)
	require.Equal(t, 200, e.Do("GET", "/api/v1/audit-log/consistency?from=1&to=1", nil, e.Operator()).Status)
	require.Equal(t, 403, e.Do("GET", "/api/v1/audit-log/consistency?from=1&to=1", nil, tokA).Status)
}

// TestAuditMasksOthersForMemberAndViewer: MEMBER and VIEWER see other persons' personal
// values masked (e-mail to its first letter and domain, IPv4 to /24, IPv6 to /48, other
// values withheld) and their own in full; OWNER, ADMIN and operators see everything. The
// hashes are the same in every view and the chain verifies for everyone.
func TestAuditMasksOthersForMemberAndViewer(t *testing.T) {
	ctx := context.Background()
	e := newAuditEnv(t)
	a := e.NewTenant()
	owner, ownerID := e.User(a, auth.RoleOwner)
	admin, _ := e.User(a, auth.RoleAdmin)
	member, memberID := e.User(a, auth.RoleMember)
	viewer, _ := e.User(a, auth.RoleViewer)
	record := func(actor, ip string, personal map[string]string) {
		t.Helper()
		require.NoError(t, e.svc.Record(ctx, eusaas.AuditEvent{TenantID: a, Actor: eusaas.Actor{Kind: eusaas.ActorUser, ID: actor, TenantID: a},
			Action: audit.ActionLogin, ResourceType: "session", Meta: eusaas.RequestMeta{IP: ip, UserAgent: "Mozilla/5.0 (X11)"},
			Personal: personal}))
		e.clock.Advance(time.Minute)
	}
	record(ownerID, "192.0.2.10", map[string]string{"email": "eve@example.eu", "name": "Eve Example"})
	record(ownerID, "2001:db8:1:2::5", nil)
	record(memberID, "198.51.100.7", map[string]string{"email": "max@example.eu"})

	list := func(tok string) []httpapi.AuditEntry {
		t.Helper()
		r := e.Do("GET", "/api/v1/tenants/"+a.String()+"/audit-log", nil, tok)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var body auditListBody
		r.JSON(t, &body)
		require.Len(t, body.Items, 3)
		return body.Items // newest first: member's login, owner's IPv6, owner's IPv4
	}
	full := list(owner)
	require.Equal(t, "max@example.eu", full[0].Personal["email"])
	require.Equal(t, "2001:db8:1:2::5", *full[1].IPAddress)
	require.Equal(t, "192.0.2.10", *full[2].IPAddress)
	require.Equal(t, "eve@example.eu", full[2].Personal["email"])
	require.Equal(t, full, list(admin))
	require.Equal(t, full, list(e.Operator()))

	for name, tok := range map[string]string{"member": member, "viewer": viewer} {
		t.Run(name, func(t *testing.T) {
			got := list(tok)
			require.Equal(t, "192.0.2.0/24", *got[2].IPAddress)
			require.Equal(t, "***", *got[2].UserAgent)
			require.Equal(t, "e***@example.eu", got[2].Personal["email"])
			require.Equal(t, "***", got[2].Personal["name"])
			require.Equal(t, "2001:db8:1::/48", *got[1].IPAddress)
			if name == "member" {
				require.Equal(t, full[0], got[0], "their own values in full")
			} else {
				require.Equal(t, "198.51.100.0/24", *got[0].IPAddress)
				require.Equal(t, "m***@example.eu", got[0].Personal["email"])
			}
			for i := range got {
				require.Equal(t, full[i].Hash, got[i].Hash)
				require.Equal(t, full[i].Changes, got[i].Changes)
			}
			r := e.Do("GET", "/api/v1/tenants/"+a.String()+"/audit-log", nil, tok)
			require.NotContains(t, string(r.Body), "eve@example.eu")
			require.NotContains(t, string(r.Body), "192.0.2.10")
			var ver httpapi.AuditVerification
			r = e.Do("GET", "/api/v1/tenants/"+a.String()+"/audit-log/verify", nil, tok)
			require.Equal(t, 200, r.Status)
			r.JSON(t, &ver)
			require.True(t, ver.Valid)
		})
	}
}
