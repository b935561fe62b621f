package audit

import (
	"encoding/json"
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// Actions recorded by the modules. Modules may record other domain actions that match
// ActionPattern; these are the ones the platform itself uses.
const (
	ActionCreate              = "CREATE"
	ActionRead                = "READ"
	ActionUpdate              = "UPDATE"
	ActionDelete              = "DELETE"
	ActionLogin               = "LOGIN"
	ActionLogout              = "LOGOUT"
	ActionExport              = "EXPORT"
	ActionErase               = "ERASE"
	ActionTenantSuspended     = "TENANT_SUSPENDED"
	ActionSchemaMigrated      = "SCHEMA_MIGRATED"
	ActionCostAnomalyDetected = "COST_ANOMALY_DETECTED"
	ActionRetentionExecuted   = "RETENTION_EXECUTED"
)

// Personal field names the audit module fills from the request metadata. Modules cannot use
// them as keys of AuditEvent.Personal.
const (
	FieldIPAddress = "ip_address"
	FieldUserAgent = "user_agent"
	// FieldEmail is the personal field holding a subject's e-mail address; erasing the
	// subject also erases the same address recorded under other subjects (LinkedEraser).
	FieldEmail = "email"
)

// ResourceTenant is the resource type whose resource id names a tenant. Platform-chain
// entries about a tenant take their TenantID from it, so operators can filter the platform
// chain by tenant and erase a tenant's subjects there too.
const ResourceTenant = "tenant"

// HashSize is the size of entry hashes (SHA-256).
const HashSize = 32

// Hash is a SHA-256 digest.
type Hash [HashSize]byte

// Entry is one record of a chain. Every field except the personal values themselves is
// covered by Hash (see the encoding in hash.go); the personal values are covered through
// their keyed commitments.
type Entry struct {
	ID uuid.UUID
	// Chain is the chain the entry belongs to: a tenant's id, or eusaas.NilTenant for the
	// platform chain.
	Chain eusaas.TenantID
	// Seq is the entry's position in its chain, from 1 without gaps.
	Seq int64
	// TenantID is the tenant the entry concerns: the chain's tenant on a tenant chain; on
	// the platform chain the tenant named by a ResourceTenant entry, else the actor's tenant,
	// else zero.
	TenantID     eusaas.TenantID
	Actor        eusaas.Actor
	Action       string
	ResourceType string
	ResourceID   string
	// Subject is the data subject whose personal values the entry holds (a user id); it
	// selects the key of the commitments. Empty when the entry holds none.
	Subject string
	// Changes is the non-personal detail as compact JSON with sorted object keys (the exact
	// bytes stored and hashed); nil when there is none.
	Changes json.RawMessage
	// Personal lists the personal fields sorted by name: ip_address, user_agent and the
	// event's Personal values.
	Personal  []PersonalField
	Timestamp time.Time // UTC, microsecond precision
	PrevHash  Hash
	Hash      Hash
	// TreeHashes are the Merkle tree hashes appending this entry stored (see tree.go): its
	// leaf hash, then the subtrees it completes. Not part of the entry's own hash; filled by
	// the writer on append and read back through Store.TreeHashes.
	TreeHashes []Hash
}

// PersonalField is one personal value of an entry. Name and Commitment are part of the chain;
// Value lives beside it and disappears when the subject is erased.
type PersonalField struct {
	Name string
	// Commitment is HMAC-SHA256 under the subject's key of the entry id, name and value.
	Commitment Hash
	// Value is the personal value; empty when Erased.
	Value string
	// Erased reports that the value (and the key) were deleted.
	Erased bool
}

// Field returns the personal field called name.
func (e Entry) Field(name string) (PersonalField, bool) {
	for _, f := range e.Personal {
		if f.Name == name {
			return f, true
		}
	}
	return PersonalField{}, false
}

// Head is the state of a chain: its size and the hash of its last entry (zero when empty),
// and the Merkle tree over its entries: the root, the frontier a writer extends, and the
// writer's signature over (chain, size, hash, root) (HeadMessage). A head whose signature
// does not verify was not moved by a writer holding the key: someone wrote it directly.
type Head struct {
	Size     int64
	Hash     Hash
	Root     Hash
	Frontier Frontier
	// Sig is the writer's Ed25519 signature of HeadMessage; empty when the service has no
	// signer, or for a chain written before the tree existed (see Service.Upgrade).
	Sig []byte
}

// HasTree reports whether the head carries the Merkle tree state (false for a chain
// written before the tree existed and not yet upgraded).
func (h Head) HasTree() bool { return h.Size == 0 || len(h.Frontier) > 0 }

// Batch is what a seal hands the store: the entries to append and the new head.
type Batch struct {
	Entries []Entry
	Head    Head
}

// Checkpoint is a signed statement of a chain's head at a time. Anyone with the public key
// can check that a later copy of the chain extends it, which detects truncation and
// rewriting of history.
type Checkpoint struct {
	Chain     eusaas.TenantID
	Size      int64
	Head      Hash
	Time      time.Time // UTC, microsecond precision
	KeyID     string    // identifies the signing key (KeyID of its public key)
	Signature []byte    // Ed25519 over CheckpointMessage
	// Root is the Merkle tree root at Size (zero for checkpoints made before the tree).
	Root Hash
	// Note is the checkpoint in the signed-note format (CheckpointBody signed with
	// golang.org/x/mod/sumdb/note); empty for checkpoints made before the tree.
	Note []byte
}

// Filter narrows List. Zero fields match everything.
type Filter struct {
	Action       string
	ResourceType string
	// UserID matches the actor id.
	UserID string
	// Since is inclusive, Until exclusive.
	Since, Until time.Time
	// TenantID matches Entry.TenantID; useful on the platform chain.
	TenantID eusaas.TenantID
	// ID matches one entry.
	ID uuid.UUID
}

var (
	actionPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)
	namePattern   = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)
)

// Size limits of an event.
const (
	MaxResourceType = 64
	MaxResourceID   = 256
	MaxSubject      = 256
	MaxValue        = 4096
	MaxChanges      = 64 << 10
	MaxPersonal     = 32
)

// ValidateEvent checks an event before it is recorded.
func ValidateEvent(ev eusaas.AuditEvent) error {
	var v eusaas.Violations
	if !actionPattern.MatchString(ev.Action) {
		v.Add("action", "must be an upper-case action name such as UPDATE")
	}
	switch ev.Actor.Kind {
	case eusaas.ActorUser, eusaas.ActorOperator, eusaas.ActorService, eusaas.ActorSystem, eusaas.ActorAPIKey:
	default:
		v.Add("actor.kind", "must be user, operator, service, api_key or system")
	}
	if len(ev.Actor.ID) > MaxSubject {
		v.Add("actor.id", "too long")
	}
	if len(ev.ResourceType) > MaxResourceType {
		v.Add("resource_type", "too long")
	}
	if len(ev.ResourceID) > MaxResourceID {
		v.Add("resource_id", "too long")
	}
	if len(ev.Subject) > MaxSubject {
		v.Add("subject", "too long")
	}
	if len(ev.Personal) > MaxPersonal {
		v.Add("personal", "too many personal values")
	}
	for k, val := range ev.Personal {
		switch {
		case k == FieldIPAddress || k == FieldUserAgent:
			v.Add("personal."+k, "is reserved for request metadata")
		case !namePattern.MatchString(k):
			v.Add("personal", "keys must be lower-case names")
		case len(val) > MaxValue:
			v.Add("personal."+k, "too long")
		}
	}
	if len(ev.Meta.IP) > MaxValue || len(ev.Meta.UserAgent) > MaxValue {
		v.Add("meta", "too long")
	}
	return v.Err()
}
