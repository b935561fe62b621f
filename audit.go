package eusaas

import "context"

// AuditEvent is what a module asks the audit log to record. The audit module turns it into a
// chained, tamper-evident entry; this type is the whole contract between them so modules
// never import audit.
type AuditEvent struct {
	// TenantID selects the chain: a tenant's own chain, or the platform chain when zero.
	TenantID     TenantID
	Actor        Actor
	Action       string // CREATE, UPDATE, LOGIN, TENANT_SUSPENDED, ...
	ResourceType string
	ResourceID   string
	// Changes holds non-personal details (old/new status, counts).
	Changes map[string]any
	// Personal holds personal values (emails, names); they are stored beside the chain under
	// a per-subject key so they can be erased without breaking verification.
	Personal map[string]string
	// Subject is the data subject the personal values belong to (a user id); empty when none.
	Subject string
	// Meta carries IP and user agent; personal data too.
	Meta RequestMeta
}

// Recorder records audit events. Implementations must be safe for concurrent use and must
// not return before the event is durable (or the enclosing transaction will make it so).
type Recorder interface {
	Record(ctx context.Context, ev AuditEvent) error
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(ctx context.Context, ev AuditEvent) error

// Record calls f.
func (f RecorderFunc) Record(ctx context.Context, ev AuditEvent) error { return f(ctx, ev) }

// Discard is a Recorder that drops every event; for embedding a module without audit.
var Discard Recorder = RecorderFunc(func(context.Context, AuditEvent) error { return nil })
