package eusaas

import "context"

// ActorKind says what sort of principal performed an action.
type ActorKind string

// Actor kinds.
const (
	ActorUser     ActorKind = "user"     // a tenant user
	ActorOperator ActorKind = "operator" // a platform operator
	ActorService  ActorKind = "service"  // a machine client (usage ingestion)
	ActorSystem   ActorKind = "system"   // the platform itself (jobs, schedulers)
	ActorAPIKey   ActorKind = "api_key"  // a tenant API key (the tenant's own machine access)
)

// Actor is who performed an action, as recorded in the audit log.
type Actor struct {
	Kind ActorKind `json:"kind"`
	ID   string    `json:"id,omitempty"`
	// TenantID is the tenant a user actor belongs to (zero for operators and the system).
	TenantID TenantID `json:"tenant_id,omitzero"`
}

// System is the actor for work the platform does by itself.
var System = Actor{Kind: ActorSystem, ID: "system"}

// RequestMeta is transport metadata about the current request, recorded with audit entries.
// IP and UserAgent are personal data: the audit module stores them apart from its chain so
// they can be erased.
type RequestMeta struct {
	RequestID string
	IP        string
	UserAgent string
}

type actorKey struct{}
type metaKey struct{}

// WithActor returns a context carrying the verified actor of the request.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor carried by ctx, or System when there is none.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return System
}

// WithRequestMeta returns a context carrying request metadata.
func WithRequestMeta(ctx context.Context, m RequestMeta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

// RequestMetaFrom returns the request metadata carried by ctx (zero when none).
func RequestMetaFrom(ctx context.Context) RequestMeta {
	m, _ := ctx.Value(metaKey{}).(RequestMeta)
	return m
}
