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
// the grace is the same respite the soft-deleted rows get). Restricted subjects' (Art. 18)
// values are kept.
type PIIRetainer struct {
	Store interface {
		ErasePersonalBefore(ctx context.Context, tenant eusaas.TenantID, cutoff time.Time, keep []string) (map[string]int, error)
	}
}

var _ gdpr.Retainer = PIIRetainer{}

// EnforceRetention implements gdpr.Retainer.
func (r PIIRetainer) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	return r.Store.ErasePersonalBefore(ctx, tenant, now.AddDate(0, 0, -p.PIIRetentionDays).Add(-grace), p.Restricted)
}

// UsageRetainer applies the tenant's settings.data_retention_days to its raw usage events:
// the attributes of events that occurred before it (user ids, hosts, labels: the raw and
// possibly personal part) are erased, the events themselves stay until billing's dedup
// purge deletes them (the ids keep ingestion exactly-once for at least 35 days), and the
// aggregates (buckets, monthly totals, invoices) are kept. Counted as
// "billing_usage_events.attributes_erased".
type UsageRetainer struct {
	// Days returns the tenant's data_retention_days.
	Days  func(ctx context.Context, tenant eusaas.TenantID) (int, error)
	Store AttributeEraser
}

// AttributeEraser is a usage store's EraseAttributesBefore (membilling's, the Postgres
// adapter's).
type AttributeEraser interface {
	EraseAttributesBefore(ctx context.Context, tenant eusaas.TenantID, cutoff time.Time) (int, error)
}

var _ gdpr.Retainer = UsageRetainer{}

// EnforceRetention implements gdpr.Retainer.
func (r UsageRetainer) EnforceRetention(ctx context.Context, tenant eusaas.TenantID, _ gdpr.Policy, now time.Time, _ time.Duration) (map[string]int, error) {
	days, err := r.Days(ctx, tenant)
	if err != nil || days <= 0 {
		return nil, err
	}
	n, err := r.Store.EraseAttributesBefore(ctx, tenant, now.AddDate(0, 0, -days))
	if err != nil || n == 0 {
		return nil, err
	}
	return map[string]int{"billing_usage_events.attributes_erased": n}, nil
}
