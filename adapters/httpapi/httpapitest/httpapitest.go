// Package httpapitest builds an httpapi.Server with in-process fakes of its two ports (token
// authentication and tenant status) so each module can test its routes, including tenant
// isolation, without the auth and tenancy modules.
package httpapitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/auth"
)

// Auth is a fake Authenticator: tokens are random strings mapped to principals.
type Auth struct {
	mu     sync.Mutex
	tokens map[string]auth.Principal
}

// Authenticate implements httpapi.Authenticator.
func (a *Auth) Authenticate(_ context.Context, bearer string) (auth.Principal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.tokens[bearer]
	if !ok {
		return auth.Principal{}, eusaas.E(eusaas.Unauthenticated, "unknown token")
	}
	return p, nil
}

// Issue returns a new token for p.
func (a *Auth) Issue(p auth.Principal) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	if p.TokenID == "" {
		p.TokenID = tok
	}
	a.mu.Lock()
	a.tokens[tok] = p
	a.mu.Unlock()
	return tok
}

// Revoke makes a token invalid.
func (a *Auth) Revoke(tok string) {
	a.mu.Lock()
	delete(a.tokens, tok)
	a.mu.Unlock()
}

// Gate is a fake TenantGate; unknown tenants are NotFound.
type Gate struct {
	mu       sync.Mutex
	statuses map[eusaas.TenantID]string
}

// TenantStatus implements httpapi.TenantGate.
func (g *Gate) TenantStatus(_ context.Context, id eusaas.TenantID) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.statuses[id]
	if !ok {
		return "", eusaas.E(eusaas.NotFound, "tenant not found")
	}
	return s, nil
}

// Set sets a tenant's status.
func (g *Gate) Set(id eusaas.TenantID, status string) {
	g.mu.Lock()
	g.statuses[id] = status
	g.mu.Unlock()
}

// Harness is a server under test with its fakes.
type Harness struct {
	T      testing.TB
	Server *httpapi.Server
	Auth   *Auth
	Gate   *Gate
}

// New builds a server with the fakes wired. adjust may change the options before the server
// is built (health checks, a logger).
func New(t testing.TB, adjust ...func(*httpapi.Options)) *Harness {
	t.Helper()
	h := &Harness{T: t, Auth: &Auth{tokens: map[string]auth.Principal{}}, Gate: &Gate{statuses: map[eusaas.TenantID]string{}}}
	opts := httpapi.Options{Version: "test", Authenticator: h.Auth, TenantGate: h.Gate}
	for _, a := range adjust {
		a(&opts)
	}
	h.Server = httpapi.New(opts)
	return h
}

// Operator returns a platform operator's token.
func (h *Harness) Operator() string {
	return h.Auth.Issue(auth.Principal{Kind: eusaas.ActorOperator, UserID: "op-" + randID(), Email: "op@example.com"})
}

// Service returns a service principal's token (usage ingestion).
func (h *Harness) Service() string {
	return h.Auth.Issue(auth.Principal{Kind: eusaas.ActorService, UserID: "svc-" + randID()})
}

// NewTenant registers an ACTIVE tenant with the gate and returns its id.
func (h *Harness) NewTenant() eusaas.TenantID {
	id := eusaas.NewTenantID()
	h.Gate.Set(id, "ACTIVE")
	return id
}

// User returns a token for a user of tenant with role, and the user's id.
func (h *Harness) User(tenant eusaas.TenantID, role auth.Role) (token, userID string) {
	userID = randID()
	return h.Auth.Issue(auth.Principal{Kind: eusaas.ActorUser, UserID: userID, TenantID: tenant, Role: role, Email: userID + "@example.com"}), userID
}

func randID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Response is a recorded response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// Problem decodes the body as a problem, failing unless the content type is problem+json.
func (r *Response) Problem(t testing.TB) httpapi.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != httpapi.ProblemContentType {
		t.Fatalf("content type %q, want %q (body %s)", ct, httpapi.ProblemContentType, r.Body)
	}
	var p httpapi.Problem
	r.JSON(t, &p)
	return p
}

// Do sends a request. body may be nil, a []byte/string sent as is, or a value encoded as
// JSON. token, when not empty, is sent as a bearer token. headers are "Key", "Value" pairs.
func (h *Harness) Do(method, path string, body any, token string, headers ...string) *Response {
	h.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			h.T.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(buf)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.Server.Handler().ServeHTTP(rec, req)
	return &Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}
