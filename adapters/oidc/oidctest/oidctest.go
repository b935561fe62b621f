// Package oidctest runs a real OpenID Provider (github.com/zitadel/oidc/v3/pkg/op) on
// 127.0.0.1 for tests, with a small in-memory storage of our own: one client, one user who
// is logged in without a form, and knobs for the failures a relying party must refuse (an
// ID token from another issuer, signed by another key, or with another nonce).
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is who the provider signs in.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// Provider is a running OpenID Provider.
type Provider struct {
	Issuer       string
	ClientID     string
	ClientSecret string

	srv   *httptest.Server
	store *storage
	main  *op.Provider
	other *op.Provider

	mu          sync.Mutex
	wrongIssuer bool
}

// Start runs a provider whose client accepts redirectURL; it stops with the test.
func Start(t testing.TB, redirectURL string) *Provider {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	good, err := newKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	bad, err := newKey("k1") // same kid, other key: a forged signature
	if err != nil {
		t.Fatal(err)
	}
	st := &storage{requests: map[string]*authRequest{}, codes: map[string]string{}, key: good, forged: bad,
		client: &client{id: "eusaas-test", secret: "s3cret-" + uuid.NewString(), redirect: redirectURL},
		user:   User{Subject: "u-1", Email: "ada@example.com", EmailVerified: true, Name: "Ada"}}
	p := &Provider{Issuer: issuer, ClientID: st.client.id, ClientSecret: st.client.secret, srv: srv, store: st}
	var ck [32]byte
	if _, err := rand.Read(ck[:]); err != nil {
		t.Fatal(err)
	}
	cfg := &op.Config{CryptoKey: ck, CodeMethodS256: true, AuthMethodPost: true}
	if p.main, err = op.NewProvider(cfg, st, op.StaticIssuer(issuer), op.WithAllowInsecure()); err != nil {
		t.Fatal(err)
	}
	// The second provider shares the storage (codes, keys) under another issuer: its token
	// endpoint answers an ID token that is genuine in every way but its iss.
	if p.other, err = op.NewProvider(cfg, st, op.StaticIssuer(issuer+"/other"), op.WithAllowInsecure()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		if err := st.login(id); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "/authorize/callback?id="+url.QueryEscape(id), http.StatusFound)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		wrong := p.wrongIssuer
		p.mu.Unlock()
		if wrong && r.URL.Path == "/oauth/token" {
			p.other.ServeHTTP(w, r)
			return
		}
		p.main.ServeHTTP(w, r)
	})
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return p
}

// SetUser changes who signs in next.
func (p *Provider) SetUser(u User) {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	p.store.user = u
}

// WrongIssuer makes the token endpoint answer ID tokens of another issuer.
func (p *Provider) WrongIssuer(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wrongIssuer = on
}

// ForgeSignature makes ID tokens signed by a key other than the published one.
func (p *Provider) ForgeSignature(on bool) {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	p.store.forge = on
}

// OverrideNonce makes ID tokens carry this nonce instead of the requested one ("" = off).
func (p *Provider) OverrideNonce(n string) {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	p.store.nonce = n
}

// Authorize follows an authorization URL through the provider (its login needs no form)
// and returns the redirect back to the relying party, not followed.
func (p *Provider) Authorize(ctx context.Context, authURL string) (*url.URL, error) {
	c := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != p.srv.Listener.Addr().String() {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode/100 != 3 || loc == "" {
		return nil, errors.New("oidctest: the provider did not redirect back: " + res.Status)
	}
	return url.Parse(loc)
}

type key struct {
	id  string
	key *rsa.PrivateKey
}

func newKey(id string) (*key, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	return &key{id: id, key: k}, err
}

func (k *key) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *key) Algorithm() jose.SignatureAlgorithm          { return jose.RS256 }
func (k *key) Key() any                                    { return k.key }
func (k *key) ID() string                                  { return k.id }
func (k *key) Use() string                                 { return "sig" }

type publicKey struct{ *key }

func (k publicKey) Key() any { return &k.key.key.PublicKey }
