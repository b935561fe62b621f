package redis

import (
	"context"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// TenantPurger removes every key of a tenant: all keys under <prefix>t:<id>: and
// <prefix>t:{<id>}: (the two spellings the adapters use), whatever module wrote them. It
// is step five of the tenant erasure saga, so it must not depend on knowing each module's
// keys.
type TenantPurger struct {
	c      goredis.UniversalClient
	prefix string
}

var _ gdpr.CachePurger = (*TenantPurger)(nil)

// NewTenantPurger returns a purger for keys under prefix.
func NewTenantPurger(c goredis.UniversalClient, prefix string) *TenantPurger {
	return &TenantPurger{c: c, prefix: prefix}
}

// gdprGlobEscape escapes Redis glob metacharacters so the prefix matches literally.
func gdprGlobEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// PurgeTenant implements gdpr.CachePurger with SCAN and UNLINK in batches; idempotent.
func (p *TenantPurger) PurgeTenant(ctx context.Context, id eusaas.TenantID) error {
	if id.IsZero() {
		return eusaas.E(eusaas.Internal, "redis: purge without a tenant")
	}
	base := gdprGlobEscape(p.prefix + "t:")
	for _, pattern := range []string{base + id.String() + ":*", base + "{" + id.String() + "}:*"} {
		var cursor uint64
		for {
			keys, next, err := p.c.Scan(ctx, cursor, pattern, 1000).Result()
			if err != nil {
				return eusaas.E(eusaas.Unavailable, "redis unavailable").Wrap(err)
			}
			if len(keys) > 0 {
				if err := p.c.Unlink(ctx, keys...).Err(); err != nil {
					return eusaas.E(eusaas.Unavailable, "redis unavailable").Wrap(err)
				}
			}
			if next == 0 {
				break
			}
			cursor = next
		}
	}
	return nil
}
