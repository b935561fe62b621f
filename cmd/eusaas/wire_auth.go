package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
	redisadapter "github.com/eusaas/eusaas/adapters/redis"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/tenancy"
)

// authTenantResolver adapts a function (over the tenancy service) to auth.TenantResolver.
type authTenantResolver func(ctx context.Context, idOrSlug string) (auth.TenantInfo, error)

func (f authTenantResolver) Resolve(ctx context.Context, idOrSlug string) (auth.TenantInfo, error) {
	return f(ctx, idOrSlug)
}

// authTenancy adapts the tenancy service to auth.TenantResolver. Service is set once both
// are built: tenancy takes auth as its InvitationIssuer and auth resolves tenants through
// tenancy, so wire auth with an empty authTenancy, then tenancy, then fill it in.
type authTenancy struct{ Service *tenancy.Service }

func (t *authTenancy) Resolve(ctx context.Context, idOrSlug string) (auth.TenantInfo, error) {
	if t.Service == nil {
		return auth.TenantInfo{}, eusaas.E(eusaas.Unavailable, "tenancy not wired yet")
	}
	tn, err := t.Service.Resolve(ctx, idOrSlug)
	if err != nil {
		return auth.TenantInfo{}, err
	}
	return auth.TenantInfo{ID: tn.ID, Status: string(tn.Status), AllowSelfRegistration: tn.Settings.AllowSelfRegistration}, nil
}

// authMissingKeys says how to make keys; the server refuses to start without them outside
// in-memory mode because tokens signed by a per-process key die with the process and differ
// between replicas.
const authMissingKeys = "APP_JWT_PRIVATE_KEY and APP_JWT_PUBLIC_KEY are required outside in-memory mode: " +
	"run `eusaas keys generate --dir ./keys` and set APP_JWT_PRIVATE_KEY_FILE=./keys/jwt-private.pem " +
	"APP_JWT_PUBLIC_KEY_FILE=./keys/jwt-public.pem (or the PEM text in APP_JWT_PRIVATE_KEY/APP_JWT_PUBLIC_KEY)"

// wireAuth builds the auth service for the app's mode: memory stores, or Postgres for users,
// operators, sessions, invitations and service accounts plus Redis for the denylist and the brute-force
// counters. tenants resolves X-Tenant-ID (adapt tenancy's Resolve with authTenantResolver),
// rec records audit events, notice receives the one-time password of a generated operator.
//
// The returned service is the server's Authenticator and tenancy's InvitationIssuer; register
// its routes with httpapi.RegisterAuth.
func (a *App) wireAuth(ctx context.Context, tenants auth.TenantResolver, rec eusaas.Recorder, notice io.Writer) (*auth.Service, error) {
	cfg := auth.Config{Issuer: a.cfg.JWTIssuer,
		AccessTTL:  time.Duration(a.cfg.AccessTokenMinutes) * time.Minute,
		RefreshTTL: time.Duration(a.cfg.RefreshTokenDays) * 24 * time.Hour}
	keys, err := a.authKeys(cfg)
	if err != nil {
		return nil, err
	}
	hasher, err := auth.NewHasher(auth.OWASPParams, auth.HasherOptions{})
	if err != nil {
		return nil, err
	}
	d := auth.Deps{Keys: keys, Tenants: tenants, Hasher: hasher, Recorder: rec, Tx: a.tx, Clock: eusaas.SystemClock}
	if a.Memory() {
		s := memauth.NewStore()
		a.memSources = append(a.memSources, s)
		a.memRetainers = append(a.memRetainers, gdprExpiryRetainer{s})
		d.Users, d.Operators, d.Sessions, d.Invitations, d.ServiceAccounts = s, s, s, s, s
		d.Denylist, d.Limiter = memauth.NewDenylist(eusaas.SystemClock), memauth.NewLimiter()
	} else {
		s := postgres.NewAuthStore(a.db)
		d.Users, d.Operators, d.Sessions, d.Invitations, d.ServiceAccounts = s, s, s, s, s
		d.Denylist, d.Limiter = redisadapter.NewAuthDenylist(a.rdb, a.cfg.RedisKeyPrefix), redisadapter.NewAuthLimiter(a.rdb, a.cfg.RedisKeyPrefix)
	}
	svc, err := auth.NewService(d, cfg)
	if err != nil {
		return nil, err
	}
	if err := a.authBootstrap(ctx, svc, d.Operators, notice); err != nil {
		return nil, err
	}
	return svc, nil
}

// authKeys loads the key set from the configuration, or makes a per-process key in memory
// mode. Extra public keys in APP_JWT_PUBLIC_KEY are the previous keys of a rotation: they keep
// verifying (and stay in the JWKS) for one access token lifetime after start.
func (a *App) authKeys(cfg auth.Config) (*auth.KeySet, error) {
	if a.cfg.JWTPrivateKeyPEM == "" {
		if !a.Memory() {
			return nil, &ConfigError{"APP_JWT_PRIVATE_KEY", authMissingKeys}
		}
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		a.log.Warn("in-memory mode without APP_JWT_PRIVATE_KEY: generated a signing key for this process; tokens stop verifying when it exits",
			"kid", auth.Thumbprint(&key.PublicKey))
		return auth.NewKeySet(key, eusaas.SystemClock)
	}
	key, err := auth.ParsePrivateKeyPEM([]byte(a.cfg.JWTPrivateKeyPEM))
	if err != nil {
		return nil, &ConfigError{"APP_JWT_PRIVATE_KEY", eusaas.MessageOf(err) + "; " + authMissingKeys}
	}
	pubs, err := auth.ParsePublicKeysPEM([]byte(a.cfg.JWTPublicKeyPEM))
	if err != nil {
		return nil, &ConfigError{"APP_JWT_PUBLIC_KEY", eusaas.MessageOf(err)}
	}
	ks, err := auth.NewKeySet(key, eusaas.SystemClock)
	if err != nil {
		return nil, &ConfigError{"APP_JWT_PRIVATE_KEY", eusaas.MessageOf(err)}
	}
	kid, matched := auth.Thumbprint(&key.PublicKey), false
	retireAt := time.Now().Add(cfg.AccessTTL + auth.MaxLeeway)
	for _, p := range pubs {
		if auth.Thumbprint(p) == kid {
			matched = true
			continue
		}
		if err := ks.AddRetiring(p, retireAt); err != nil {
			return nil, &ConfigError{"APP_JWT_PUBLIC_KEY", eusaas.MessageOf(err)}
		}
	}
	if !matched {
		return nil, &ConfigError{"APP_JWT_PUBLIC_KEY", "does not contain the public key of APP_JWT_PRIVATE_KEY"}
	}
	return ks, nil
}

// authBootstrap creates the first platform operator from APP_BOOTSTRAP_ADMIN_EMAIL/_PASSWORD;
// in memory mode without them it creates admin@eusaas.local with a random password written
// once to notice (never to the log).
func (a *App) authBootstrap(ctx context.Context, svc *auth.Service, ops auth.OperatorStore, notice io.Writer) error {
	if a.cfg.BootstrapEmail != "" {
		created, err := svc.BootstrapOperator(ctx, a.cfg.BootstrapEmail, a.cfg.BootstrapPassword)
		if err != nil {
			if eusaas.KindOf(err) == eusaas.InvalidArgument {
				return &ConfigError{"APP_BOOTSTRAP_ADMIN_PASSWORD", "APP_BOOTSTRAP_ADMIN_EMAIL must be an email and the password 10..128 characters with upper, lower, digit and special character"}
			}
			return err
		}
		if created {
			a.log.Info("created the bootstrap platform operator from APP_BOOTSTRAP_ADMIN_EMAIL")
		}
		return nil
	}
	n, err := ops.CountOperators(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if !a.Memory() {
		a.log.Warn("no platform operator exists: set APP_BOOTSTRAP_ADMIN_EMAIL and APP_BOOTSTRAP_ADMIN_PASSWORD to create one")
		return nil
	}
	var b [18]byte
	_, _ = rand.Read(b[:])
	// The fixed prefix guarantees every character class the policy asks for.
	pw := "Aa1!" + base64.RawURLEncoding.EncodeToString(b[:])
	const email = "admin@eusaas.local"
	if _, err := svc.BootstrapOperator(ctx, email, pw); err != nil {
		return err
	}
	fmt.Fprintf(notice, "eusaas: in-memory mode without APP_BOOTSTRAP_ADMIN_EMAIL: platform operator %s, password %s (shown once)\n", email, pw)
	return nil
}
