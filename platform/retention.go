package platform

import (
	"context"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// The memory adapters enforce retention on their own records in root and standard types
// only (they may not import gdpr); these adapt them to gdpr.Retainer, as the Postgres
// adapter's generic retention covers the same tables in Postgres mode.

// ExpiryRetainer adapts a store's DeleteExpired (auth: sessions and invitations): rows
// expired for longer than the grace period are deleted.
type ExpiryRetainer struct {
	Store interface {
		DeleteExpired(ctx context.Context, tenant eusaas.TenantID, cutoff time.Time) (map[string]int, error)
	}
}

var _ gdpr.Retainer = ExpiryRetainer{}

// EnforceRetention implements gdpr.Retainer.
func (r ExpiryRetainer) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, _ gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	return r.Store.DeleteExpired(ctx, tenant, now.Add(-grace))
}

// DefaultRetainer adapts a store's EnforceDataRetention (anomaly) with the policy's
// default_retention_days: older records are soft-deleted, then hard-deleted after grace.
type DefaultRetainer struct {
	Store interface {
		EnforceDataRetention(ctx context.Context, tenant eusaas.TenantID, retentionDays int, now time.Time, grace time.Duration) (map[string]int, error)
	}
}

var _ gdpr.Retainer = DefaultRetainer{}

// EnforceRetention implements gdpr.Retainer.
func (r DefaultRetainer) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	return r.Store.EnforceDataRetention(ctx, tenant, p.DefaultRetentionDays, now, grace)
}

// PIIRetainer adapts a store's ErasePersonalBefore (auth: session IPs and user agents,
// invitations with their e-mail addresses) with the policy's pii_retention_days: values
// older than the period plus the grace period are erased (they have no soft-deleted state;
// the grace is the same respite the soft-deleted rows get).
type PIIRetainer struct {
	Store interface {
		ErasePersonalBefore(ctx context.Context, tenant eusaas.TenantID, cutoff time.Time) (map[string]int, error)
	}
}

var _ gdpr.Retainer = PIIRetainer{}

// EnforceRetention implements gdpr.Retainer.
func (r PIIRetainer) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	return r.Store.ErasePersonalBefore(ctx, tenant, now.AddDate(0, 0, -p.PIIRetentionDays).Add(-grace))
}
