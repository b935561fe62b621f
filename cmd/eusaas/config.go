package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/eusaas/eusaas/adapters/smtpmail"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/billing/vat"
	"github.com/eusaas/eusaas/billing/vies"
)

// Config is the server configuration, read from APP_ environment variables (SPEC.md).
type Config struct {
	// Postgres is set when any APP_POSTGRES_* variable is: it selects Postgres mode.
	Postgres *PostgresConfig

	RedisURL string
	// RedisKeyPrefix prefixes every Redis key the server writes (APP_REDIS_KEY_PREFIX), so
	// several deployments or test runs can share one Redis database.
	RedisKeyPrefix     string
	JWTPrivateKeyPEM   string
	JWTPublicKeyPEM    string
	JWTIssuer          string
	AccessTokenMinutes int
	RefreshTokenDays   int
	CeleryBrokerURL    string // accepted for compatibility; unused (jobs run on River or in process)
	LogLevel           slog.Level
	BootstrapEmail     string
	BootstrapPassword  string
	HTTPAddr           string
	PrometheusURL      string
	// VIESURL is the VIES REST check-vat-number endpoint; VATUnverifiedPolicy what issue
	// does with a business VAT id VIES could not verify; VATBelowOSSThreshold charges the
	// seller's own rate to consumers in other member states (Art. 59c).
	VIESURL              string
	VATUnverifiedPolicy  vat.UnverifiedPolicy
	VATBelowOSSThreshold bool
	// JobsInProcess runs the background job workers inside `serve` (APP_JOBS_IN_PROCESS,
	// default true); set it to false when `eusaas worker` processes run them.
	JobsInProcess bool
	// TenantSchemaPool is how many spare tenant schemas the job workers keep ready
	// (APP_TENANT_SCHEMA_POOL, Postgres mode; 0, the default, makes each on demand).
	TenantSchemaPool int
	// JobsPollOnly makes the job workers poll for new jobs (every second) instead of
	// waiting on LISTEN/NOTIFY, which a transaction-pooling PgBouncer cannot carry
	// (APP_JOBS_POLL_ONLY, Postgres mode).
	JobsPollOnly bool
	// JobsWorkers is how many jobs a process works at once (APP_JOBS_WORKERS, Postgres mode,
	// 1..1000, default 4).
	JobsWorkers int
	// TrustedProxies are the reverse proxies' networks (APP_TRUSTED_PROXIES, comma-separated
	// CIDRs, default none): only requests from them have their client address read from
	// X-Forwarded-For / Forwarded.
	TrustedProxies []netip.Prefix
	// SMTPURL is the mail server (APP_SMTP_URL: smtp://user:pass@host:587 with STARTTLS when
	// offered, smtps:// for implicit TLS); empty keeps mails in the memory outbox and the
	// log. MailFrom is the sender (APP_MAIL_FROM).
	SMTPURL  string
	MailFrom string
	// MFAKey seals TOTP secrets at rest (APP_MFA_KEY: 32 bytes, base64; `openssl rand
	// -base64 32`). Without it they are stored unsealed.
	MFAKey []byte
	// SSOAllowHTTPIssuer accepts http:// SSO issuers on loopback hosts
	// (APP_SSO_ALLOW_HTTP_ISSUER; for tests and a local IdP, never in production).
	SSOAllowHTTPIssuer bool

	// The modules' own settings (APP_AUDIT_*, APP_GDPR_*, APP_ANOMALY_*), read with the rest
	// so that every variable is checked before anything connects.
	Audit   AuditConfig
	GDPR    gdprConfig
	Storage storageConfig
	Webhook anomalyWebhook
	// Tracing is the OTLP trace export (OTEL_EXPORTER_OTLP_*); zero when not configured.
	Tracing TracingConfig
	// CitusRegionNodes labels Citus worker nodes with data residency regions
	// (APP_CITUS_REGION_NODES, eu-central-1=10.0.0.5:5432,...): with the citus extension
	// installed, new tenants' schemas are placed on a node of their region and a region
	// change moves the schema. Empty: placement is left to Citus (docs/scale-out.md).
	CitusRegionNodes postgres.RegionNodes
	// Notice receives one-time messages for the person starting the server (a generated
	// operator password); never the log.
	Notice io.Writer
}

// PostgresConfig holds the connection settings.
type PostgresConfig struct {
	Host, User, Password, DB string
	Port                     int
	// DSN is APP_POSTGRES_URL: a whole libpq/pgx connection string (URL or key=value form,
	// every parameter pgx knows: sslmode, sslrootcert, target_session_attrs, ...). When set,
	// the split variables are not allowed beside it and Host, Port, User and DB are read
	// from it (for messages only).
	DSN string
	// MaxConns and MinConns size the pool (APP_POSTGRES_MAX_CONNS, _MIN_CONNS; 0 keeps
	// the connection string's pool_max_conns / pool_min_conns or the adapter's default).
	MaxConns, MinConns int
	// QueryMode is pgx's default_query_exec_mode (APP_POSTGRES_QUERY_MODE): empty keeps
	// pgx's cache_statement, which needs session state a transaction-pooling PgBouncer
	// does not keep; exec or simple_protocol work through it (docs/operations.md).
	QueryMode string
}

// queryModes are pgx's query execution modes, by their connection-string names.
var queryModes = []string{"cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"}

// URL is the pgx connection string: APP_POSTGRES_URL or one built from the split
// variables, with the pool and query-mode settings added as pgx parameters.
func (p PostgresConfig) URL() string {
	extra := [][2]string{}
	if p.MaxConns > 0 {
		extra = append(extra, [2]string{"pool_max_conns", strconv.Itoa(p.MaxConns)})
	}
	if p.MinConns > 0 {
		extra = append(extra, [2]string{"pool_min_conns", strconv.Itoa(p.MinConns)})
	}
	if p.QueryMode != "" {
		extra = append(extra, [2]string{"default_query_exec_mode", p.QueryMode})
	}
	if p.DSN != "" && !strings.HasPrefix(p.DSN, "postgres://") && !strings.HasPrefix(p.DSN, "postgresql://") {
		// key=value form: a later key wins in pgx's parser.
		s := p.DSN
		for _, kv := range extra {
			s += " " + kv[0] + "=" + kv[1]
		}
		return s
	}
	var u *url.URL
	if p.DSN != "" {
		var err error
		if u, err = url.Parse(p.DSN); err != nil {
			return p.DSN // LoadConfig has parsed it already; unreachable in practice
		}
	} else {
		u = &url.URL{Scheme: "postgres", Host: net.JoinHostPort(p.Host, strconv.Itoa(p.Port)), Path: "/" + p.DB}
		if p.Password != "" {
			u.User = url.UserPassword(p.User, p.Password)
		} else {
			u.User = url.User(p.User)
		}
		u.RawQuery = url.Values{"sslmode": {"prefer"}}.Encode()
	}
	q := u.Query()
	for _, kv := range extra {
		q.Set(kv[0], kv[1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Where names the server for messages and logs, never with the password.
func (p PostgresConfig) Where() string {
	return fmt.Sprintf("%s:%d/%s", p.Host, p.Port, p.DB)
}

// ConfigError names the variable that is wrong; the message never includes secret values.
type ConfigError struct {
	Var, Reason string
}

func (e *ConfigError) Error() string { return e.Var + ": " + e.Reason }

// LoadConfig reads the configuration through getenv (os.Getenv in production).
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		RedisURL:           "redis://localhost:6379/0",
		JWTIssuer:          "eu-multi-tenant-platform",
		AccessTokenMinutes: 15,
		RefreshTokenDays:   7,
		CeleryBrokerURL:    "redis://localhost:6379/1",
		LogLevel:           slog.LevelInfo,
		HTTPAddr:           ":8000",
		JobsInProcess:      true,
		Notice:             os.Stderr,
	}
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	posInt := func(name string, dst *int, max int) error {
		v := getenv(name)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			return &ConfigError{name, fmt.Sprintf("must be an integer between 1 and %d", max)}
		}
		*dst = n
		return nil
	}

	pgVars := []string{"APP_POSTGRES_HOST", "APP_POSTGRES_PORT", "APP_POSTGRES_USER", "APP_POSTGRES_PASSWORD", "APP_POSTGRES_DB"}
	for _, v := range append(pgVars, "APP_POSTGRES_URL") {
		if getenv(v) != "" {
			c.Postgres = &PostgresConfig{Host: "localhost", Port: 5432, User: "postgres", DB: "eu_multitenant"}
			break
		}
	}
	if dsn := getenv("APP_POSTGRES_URL"); dsn != "" {
		for _, v := range pgVars {
			if getenv(v) != "" {
				return c, &ConfigError{"APP_POSTGRES_URL", "cannot be combined with " + v + ": put every setting in the connection string"}
			}
		}
		pc, err := pgconn.ParseConfig(dsn)
		if err != nil {
			// pgconn's message may quote the string, password included: not repeated here.
			return c, &ConfigError{"APP_POSTGRES_URL", "is not a valid libpq/pgx connection string (postgres://user@host:5432/db?sslmode=require, or host=... dbname=...)"}
		}
		c.Postgres.DSN, c.Postgres.Host, c.Postgres.Port, c.Postgres.User, c.Postgres.DB = dsn, pc.Host, int(pc.Port), pc.User, pc.Database
	} else if c.Postgres != nil {
		str("APP_POSTGRES_HOST", &c.Postgres.Host)
		str("APP_POSTGRES_USER", &c.Postgres.User)
		str("APP_POSTGRES_PASSWORD", &c.Postgres.Password)
		str("APP_POSTGRES_DB", &c.Postgres.DB)
		if err := posInt("APP_POSTGRES_PORT", &c.Postgres.Port, 65535); err != nil {
			return c, err
		}
	}
	if c.Postgres != nil {
		if err := posInt("APP_POSTGRES_MAX_CONNS", &c.Postgres.MaxConns, 10000); err != nil {
			return c, err
		}
		if err := posInt("APP_POSTGRES_MIN_CONNS", &c.Postgres.MinConns, 10000); err != nil {
			return c, err
		}
		if c.Postgres.MaxConns > 0 && c.Postgres.MinConns > c.Postgres.MaxConns {
			return c, &ConfigError{"APP_POSTGRES_MIN_CONNS", "must not exceed APP_POSTGRES_MAX_CONNS"}
		}
		if m := getenv("APP_POSTGRES_QUERY_MODE"); m != "" {
			if !slices.Contains(queryModes, m) {
				return c, &ConfigError{"APP_POSTGRES_QUERY_MODE", "must be one of " + strings.Join(queryModes, ", ") + " (exec or simple_protocol behind PgBouncer in transaction mode)"}
			}
			c.Postgres.QueryMode = m
		}
		if v := getenv("APP_JOBS_POLL_ONLY"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return c, &ConfigError{"APP_JOBS_POLL_ONLY", "must be true or false"}
			}
			c.JobsPollOnly = b
		}
		if v := getenv("APP_JOBS_WORKERS"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return c, &ConfigError{"APP_JOBS_WORKERS", "must be a whole number from 1 to 1000"}
			}
			c.JobsWorkers = n
		}
	}
	str("APP_REDIS_URL", &c.RedisURL)
	str("APP_REDIS_KEY_PREFIX", &c.RedisKeyPrefix)
	if _, err := url.Parse(c.RedisURL); err != nil || !strings.HasPrefix(c.RedisURL, "redis") {
		return c, &ConfigError{"APP_REDIS_URL", "must be a redis:// or rediss:// URL"}
	}
	str("APP_JWT_PRIVATE_KEY", &c.JWTPrivateKeyPEM)
	str("APP_JWT_PUBLIC_KEY", &c.JWTPublicKeyPEM)
	// The _FILE variants read the PEM from a file (container secrets); they win when both are set.
	for _, f := range []struct {
		name string
		dst  *string
	}{{"APP_JWT_PRIVATE_KEY_FILE", &c.JWTPrivateKeyPEM}, {"APP_JWT_PUBLIC_KEY_FILE", &c.JWTPublicKeyPEM}} {
		if path := getenv(f.name); path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return c, &ConfigError{f.name, "cannot read the file it names"}
			}
			*f.dst = string(b)
		}
	}
	str("APP_JWT_ISSUER", &c.JWTIssuer)
	if err := posInt("APP_JWT_ACCESS_TOKEN_MINUTES", &c.AccessTokenMinutes, 24*60); err != nil {
		return c, err
	}
	if err := posInt("APP_JWT_REFRESH_TOKEN_DAYS", &c.RefreshTokenDays, 365); err != nil {
		return c, err
	}
	str("APP_CELERY_BROKER_URL", &c.CeleryBrokerURL)
	if v := getenv("APP_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return c, &ConfigError{"APP_LOG_LEVEL", "must be DEBUG, INFO, WARN or ERROR"}
		}
	}
	str("APP_BOOTSTRAP_ADMIN_EMAIL", &c.BootstrapEmail)
	str("APP_BOOTSTRAP_ADMIN_PASSWORD", &c.BootstrapPassword)
	if (c.BootstrapEmail == "") != (c.BootstrapPassword == "") {
		return c, &ConfigError{"APP_BOOTSTRAP_ADMIN_PASSWORD", "APP_BOOTSTRAP_ADMIN_EMAIL and APP_BOOTSTRAP_ADMIN_PASSWORD must be set together"}
	}
	str("APP_HTTP_ADDR", &c.HTTPAddr)
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return c, &ConfigError{"APP_HTTP_ADDR", "must be host:port or :port"}
	}
	if v := getenv("APP_JOBS_IN_PROCESS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, &ConfigError{"APP_JOBS_IN_PROCESS", "must be true or false"}
		}
		c.JobsInProcess = b
	}
	if v := getenv("APP_TENANT_SCHEMA_POOL"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100000 {
			return c, &ConfigError{"APP_TENANT_SCHEMA_POOL", "must be a whole number from 0 to 100000"}
		}
		c.TenantSchemaPool = n
	}
	var err error
	if c.TrustedProxies, err = parseTrustedProxies(getenv("APP_TRUSTED_PROXIES")); err != nil {
		return c, &ConfigError{"APP_TRUSTED_PROXIES", err.Error()}
	}
	c.VIESURL, c.VATUnverifiedPolicy = vies.DefaultURL, vat.PolicyCharge
	str("APP_VIES_URL", &c.VIESURL)
	if u, err := url.Parse(c.VIESURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, &ConfigError{"APP_VIES_URL", "must be an http(s) URL"}
	}
	if v := getenv("APP_VAT_UNVERIFIED_POLICY"); v != "" {
		c.VATUnverifiedPolicy = vat.UnverifiedPolicy(v)
		if !c.VATUnverifiedPolicy.Valid() {
			return c, &ConfigError{"APP_VAT_UNVERIFIED_POLICY", "must be charge or reverse"}
		}
	}
	if v := getenv("APP_VAT_OSS_BELOW_THRESHOLD"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, &ConfigError{"APP_VAT_OSS_BELOW_THRESHOLD", "must be true or false"}
		}
		c.VATBelowOSSThreshold = b
	}
	if v := getenv("APP_MFA_KEY"); v != "" {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil || len(k) != 32 {
			return c, &ConfigError{"APP_MFA_KEY", "must be 32 bytes in base64 (openssl rand -base64 32)"}
		}
		c.MFAKey = k
	}
	if v := getenv("APP_SSO_ALLOW_HTTP_ISSUER"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, &ConfigError{"APP_SSO_ALLOW_HTTP_ISSUER", "must be true or false"}
		}
		c.SSOAllowHTTPIssuer = b
	}
	str("APP_SMTP_URL", &c.SMTPURL)
	c.MailFrom = "no-reply@localhost"
	str("APP_MAIL_FROM", &c.MailFrom)
	if c.SMTPURL != "" {
		// Checked now, before anything connects; the message never repeats the URL (it may
		// hold the password).
		if _, err := smtpmail.New(c.SMTPURL, smtpmail.Options{From: c.MailFrom}); err != nil {
			return c, &ConfigError{"APP_SMTP_URL", "must be smtp://[user:pass@]host[:port] or smtps://..., with APP_MAIL_FROM an e-mail address"}
		}
	}
	str("APP_PROMETHEUS_URL", &c.PrometheusURL)
	if c.PrometheusURL != "" {
		if u, err := url.Parse(c.PrometheusURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return c, &ConfigError{"APP_PROMETHEUS_URL", "must be an http(s) URL"}
		}
	}
	if (c.JWTPrivateKeyPEM == "") != (c.JWTPublicKeyPEM == "") {
		return c, &ConfigError{"APP_JWT_PUBLIC_KEY", "APP_JWT_PRIVATE_KEY and APP_JWT_PUBLIC_KEY must be set together"}
	}
	if c.Audit, err = LoadAuditConfig(getenv); err != nil {
		return c, err
	}
	if c.GDPR, err = loadGDPRConfig(getenv); err != nil {
		return c, err
	}
	if c.Storage, err = loadStorageConfig(getenv); err != nil {
		return c, err
	}
	if c.Webhook, err = loadAnomalyWebhook(getenv); err != nil {
		return c, err
	}
	if c.Tracing, err = loadTracingConfig(getenv); err != nil {
		return c, err
	}
	if c.CitusRegionNodes, err = postgres.ParseRegionNodes(getenv("APP_CITUS_REGION_NODES")); err != nil {
		return c, &ConfigError{"APP_CITUS_REGION_NODES", strings.TrimPrefix(err.Error(), "APP_CITUS_REGION_NODES: ")}
	}
	return c, nil
}

// parseTrustedProxies reads a comma-separated list of CIDRs; a bare address stands for
// itself (/32 or /128). Prefixes are masked so 10.0.0.5/8 means 10.0.0.0/8.
func parseTrustedProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil && !p.Addr().Is4In6() {
			// Client addresses are compared unmapped, so an IPv4-mapped prefix would
			// never match; it is refused rather than silently ignored.
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			return nil, errors.New("must be comma-separated CIDRs such as 10.0.0.0/8,192.168.1.10/32")
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
