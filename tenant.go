package eusaas

import (
	"context"

	"github.com/google/uuid"
)

// TenantID identifies a tenant. It is immutable and the only input a tenant's schema name is
// derived from.
type TenantID uuid.UUID

// NilTenant is the zero TenantID. It never names a tenant; audit uses it for the platform chain.
var NilTenant TenantID

// NewTenantID returns a fresh random (v7, time-ordered) tenant id.
func NewTenantID() TenantID { return TenantID(uuid.Must(uuid.NewV7())) }

// ParseTenantID parses the canonical UUID text form. Errors are InvalidArgument.
func ParseTenantID(s string) (TenantID, error) {
	if len(s) != 36 {
		return NilTenant, E(InvalidArgument, "tenant id must be a UUID")
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return NilTenant, E(InvalidArgument, "tenant id must be a UUID")
	}
	return TenantID(u), nil
}

func (id TenantID) String() string { return uuid.UUID(id).String() }

// IsZero reports whether id is NilTenant.
func (id TenantID) IsZero() bool { return id == NilTenant }

// UUID returns id as a uuid.UUID.
func (id TenantID) UUID() uuid.UUID { return uuid.UUID(id) }

// Hex returns the 32 hex digits of id without dashes, used for schema names (t_<hex>).
func (id TenantID) Hex() string {
	const digits = "0123456789abcdef"
	var b [32]byte
	for i, c := range id {
		b[i*2] = digits[c>>4]
		b[i*2+1] = digits[c&0xf]
	}
	return string(b[:])
}

// SchemaName is the Postgres schema holding the tenant's data: "t_" + Hex(). It is derived
// from the id only, never from user input.
func (id TenantID) SchemaName() string { return "t_" + id.Hex() }

// MarshalText implements encoding.TextMarshaler.
func (id TenantID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *TenantID) UnmarshalText(b []byte) error {
	v, err := ParseTenantID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

type tenantKey struct{}

// WithTenant returns a context carrying the tenant the request acts for. Only the transport
// layer sets it, after it has verified the caller; adapters never read required inputs from
// it (port methods take the tenant explicitly).
func WithTenant(ctx context.Context, id TenantID) context.Context {
	return context.WithValue(ctx, tenantKey{}, id)
}

// TenantFrom returns the tenant carried by ctx, if any.
func TenantFrom(ctx context.Context) (TenantID, bool) {
	id, ok := ctx.Value(tenantKey{}).(TenantID)
	return id, ok && !id.IsZero()
}
