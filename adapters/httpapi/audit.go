package httpapi

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/auth"
)

// RegisterAudit adds the audit log routes: a tenant's log and its verification (tenant
// users with audit:read, operators), the platform chain for operators, and the published
// checkpoint key.
func RegisterAudit(s *Server, svc *audit.Service) {
	tags := []string{"Audit"}
	Register(s, huma.Operation{
		OperationID: "list-tenant-audit-log", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/audit-log",
		Summary: "List a tenant's audit log", Tags: tags, Security: BearerAuth,
		Description: "Newest first. Personal values (ip_address, user_agent, personal) of erased subjects are null and named in erased_fields. " +
			"MEMBER and VIEWER see other persons' values masked (data minimisation): e-mail addresses as e***@example.eu, " +
			"IPv4 addresses truncated to their /24 and IPv6 to their /48 network, other values as ***; their own values, and " +
			"everything for OWNER, ADMIN and operators, in full. Hashes are unchanged, so the chain verifies for everyone.",
	}, func(ctx context.Context, in *auditListInput) (*auditListOutput, error) {
		tenant, p, err := s.TenantAccess(ctx, in.ID, auth.PermAuditRead)
		if err != nil {
			return nil, err
		}
		var mask func(audit.Entry) bool
		if masksOthers(p) {
			mask = func(e audit.Entry) bool { return e.Subject != p.UserID }
		}
		return auditList(ctx, svc, tenant, in.AuditFilterQuery, in.PageQuery, eusaas.NilTenant, mask)
	})
	Register(s, huma.Operation{
		OperationID: "verify-tenant-audit-log", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/audit-log/verify",
		Summary: "Verify a tenant's audit chain", Tags: tags, Security: BearerAuth,
		Description: "Recomputes every hash of the chain and checks it against its head and the latest signed checkpoint. " +
			"valid is false when tampering is found; finding names the first bad seq and the kind (modified, deleted, inserted, reordered, truncated, bad_checkpoint, forged: the entries do not reproduce the head its writer signed).",
	}, func(ctx context.Context, in *struct {
		ID string `path:"id" doc:"Tenant id"`
	}) (*auditVerifyOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermAuditRead)
		if err != nil {
			return nil, err
		}
		return auditVerify(ctx, svc, tenant)
	})
	Register(s, huma.Operation{
		OperationID: "list-platform-audit-log", Method: http.MethodGet, Path: "/api/v1/audit-log",
		Summary: "List the platform audit log (operators)", Tags: tags, Security: BearerAuth,
		Description: "The platform chain: operator actions and tenant lifecycle. tenant_id narrows it to entries about one tenant.",
	}, func(ctx context.Context, in *auditPlatformListInput) (*auditListOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		var tenant eusaas.TenantID
		if in.TenantID != "" {
			t, err := eusaas.ParseTenantID(in.TenantID)
			if err != nil {
				return nil, eusaas.Invalid("invalid tenant id", eusaas.FieldViolation{Location: "query.tenant_id", Message: "must be a UUID"})
			}
			tenant = t
		}
		return auditList(ctx, svc, audit.PlatformChain, in.AuditFilterQuery, in.PageQuery, tenant, nil)
	})
	Register(s, huma.Operation{
		OperationID: "verify-platform-audit-log", Method: http.MethodGet, Path: "/api/v1/audit-log/verify",
		Summary: "Verify the platform audit chain (operators)", Tags: tags, Security: BearerAuth,
	}, func(ctx context.Context, _ *struct{}) (*auditVerifyOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		return auditVerify(ctx, svc, audit.PlatformChain)
	})
	registerAuditProofs(s, svc)
	Register(s, huma.Operation{
		OperationID: "get-audit-checkpoint-key", Method: http.MethodGet, Path: "/api/v1/audit-log/checkpoint-key",
		Summary: "The public key of the audit checkpoints", Tags: tags, Security: Public,
		Description: "Ed25519 key that verifies every signed checkpoint (signature over the canonical checkpoint message, see package audit). 404 when checkpoints are not signed.",
	}, func(ctx context.Context, _ *struct{}) (*auditKeyOutput, error) {
		pub := svc.PublicKey()
		if pub == nil {
			return nil, eusaas.E(eusaas.NotFound, "audit checkpoints are not signed on this server")
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil, err
		}
		out := &auditKeyOutput{}
		out.Body.Algorithm = "Ed25519"
		out.Body.KeyID = audit.KeyID(pub)
		out.Body.PublicKey = base64.StdEncoding.EncodeToString(pub)
		out.Body.PEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		return out, nil
	})
}

// AuditFilterQuery holds the audit list filters (embedded in the list inputs).
type AuditFilterQuery struct {
	Action       string `query:"action" maxLength:"64" doc:"Only this action, e.g. LOGIN"`
	ResourceType string `query:"resource_type" maxLength:"64" doc:"Only this resource type"`
	UserID       string `query:"user_id" maxLength:"256" doc:"Only actions by this user (actor id)"`
	StartDate    string `query:"start_date" doc:"YYYY-MM-DD, inclusive (UTC)"`
	EndDate      string `query:"end_date" doc:"YYYY-MM-DD, inclusive (UTC)"`
}

type auditListInput struct {
	ID string `path:"id" doc:"Tenant id"`
	PageQuery
	AuditFilterQuery
}

type auditPlatformListInput struct {
	TenantID string `query:"tenant_id" doc:"Only entries about this tenant"`
	PageQuery
	AuditFilterQuery
}

// AuditEntry is the API form of an audit entry: audit.EntryView (package audit defines it, so
// GDPR exports and the reference server's wiring show entries exactly as the API does), as a
// named type of its own so the OpenAPI schema keeps its name.
type AuditEntry audit.EntryView

// AuditActor is who acted.
type AuditActor = audit.ActorView

type auditListOutput struct {
	Body Paginated[AuditEntry]
}

// AuditVerification is the result of verifying a chain.
type AuditVerification struct {
	Chain           string           `json:"chain"`
	Valid           bool             `json:"valid"`
	EntriesVerified int64            `json:"entries_verified"`
	HeadSize        int64            `json:"head_size"`
	HeadHash        string           `json:"head_hash"`
	Finding         *audit.Finding   `json:"finding,omitempty" doc:"First problem found; absent when valid"`
	Checkpoint      *AuditCheckpoint `json:"checkpoint,omitempty" doc:"Latest signed checkpoint; absent when none"`
	ErasedValues    int64            `json:"erased_values" doc:"Personal values found erased (not a problem)"`
	VerifiedAt      time.Time        `json:"verified_at"`
}

// AuditCheckpoint is a signed statement of a chain's head (audit.CheckpointView).
type AuditCheckpoint audit.CheckpointView

type auditVerifyOutput struct {
	Body AuditVerification
}

type auditKeyOutput struct {
	Body struct {
		Algorithm string `json:"algorithm"`
		KeyID     string `json:"key_id"`
		PublicKey string `json:"public_key" doc:"Raw 32-byte key, base64"`
		PEM       string `json:"pem" doc:"PKIX PUBLIC KEY"`
	}
}

// auditList lists a chain; mask, when set, says which entries' personal values the caller
// sees only masked.
func auditList(ctx context.Context, svc *audit.Service, chain eusaas.TenantID, q AuditFilterQuery, pq PageQuery, tenant eusaas.TenantID,
	mask func(audit.Entry) bool) (*auditListOutput, error) {
	f := audit.Filter{Action: q.Action, ResourceType: q.ResourceType, UserID: q.UserID, TenantID: tenant}
	var v eusaas.Violations
	if q.StartDate != "" {
		d, err := time.Parse(time.DateOnly, q.StartDate)
		if err != nil {
			v.Add("query.start_date", "must be a date YYYY-MM-DD")
		}
		f.Since = d
	}
	if q.EndDate != "" {
		d, err := time.Parse(time.DateOnly, q.EndDate)
		if err != nil {
			v.Add("query.end_date", "must be a date YYYY-MM-DD")
		}
		f.Until = d.AddDate(0, 0, 1) // inclusive day
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	page := pq.ToPage()
	l, err := svc.List(ctx, chain, f, page)
	if err != nil {
		return nil, err
	}
	items := make([]AuditEntry, len(l.Items))
	for i, e := range l.Items {
		items[i] = auditView(e)
		if mask != nil && mask(e) {
			maskPersonal(&items[i])
		}
	}
	return &auditListOutput{Body: NewPaginated(items, l.Total, page)}, nil
}

// AuditCheckpointView is a checkpoint as the API (and GDPR exports) show it.
func AuditCheckpointView(c audit.Checkpoint) AuditCheckpoint {
	return AuditCheckpoint(audit.NewCheckpointView(c))
}

// AuditEntryView is an entry as the API (and GDPR exports) show it: snake_case fields,
// erased personal values marked as such.
func AuditEntryView(e audit.Entry) AuditEntry { return AuditEntry(audit.NewEntryView(e)) }

func auditView(e audit.Entry) AuditEntry { return AuditEntry(audit.NewEntryView(e)) }

func auditVerify(ctx context.Context, svc *audit.Service, chain eusaas.TenantID) (*auditVerifyOutput, error) {
	r, err := svc.Verify(ctx, chain)
	if err != nil {
		return nil, err
	}
	var cp *AuditCheckpoint
	if c := r.Checkpoint; c != nil {
		v := AuditCheckpointView(*c)
		cp = &v
	}
	return &auditVerifyOutput{Body: AuditVerification{
		Chain: chain.String(), Valid: r.OK, EntriesVerified: r.Entries, HeadSize: r.Head.Size, HeadHash: r.Head.Hash.String(),
		Finding: r.Finding, Checkpoint: cp, ErasedValues: r.Erased, VerifiedAt: time.Now().UTC(),
	}}, nil
}

// registerAuditProofs adds the Merkle tree routes: inclusion and consistency proofs of a
// tenant's chain and of the platform chain, and the checkpoint key in the signed-note format.
func registerAuditProofs(s *Server, svc *audit.Service) {
	tags := []string{"Audit"}
	proofDoc := "RFC 6962 inclusion proof of the entry (leaf data: the entry's hash) against the latest signed checkpoint, " +
		"which is made first when none covers the entry yet. Verify with the checkpoint key (GET /api/v1/audit/checkpoint-key) " +
		"and any RFC 6962 verifier: open the checkpoint note, then check inclusion_proof from leaf_hash at leaf_index to root_hash."
	consDoc := "RFC 6962 consistency proof that the chain's tree of size from is a prefix of its tree of size to " +
		"(1 <= from <= to <= the chain's size); check it against the roots of two signed checkpoints."
	Register(s, huma.Operation{
		OperationID: "prove-tenant-audit-entry", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/audit-log/{entry_id}/proof",
		Summary: "Inclusion proof of a tenant's audit entry", Tags: tags, Security: BearerAuth, Description: proofDoc,
	}, func(ctx context.Context, in *auditProofInput) (*auditProofOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermAuditRead)
		if err != nil {
			return nil, err
		}
		return auditProve(ctx, svc, tenant, in.EntryID)
	})
	Register(s, huma.Operation{
		OperationID: "tenant-audit-consistency", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/audit-log/consistency",
		Summary: "Consistency proof between two sizes of a tenant's audit chain", Tags: tags, Security: BearerAuth, Description: consDoc,
	}, func(ctx context.Context, in *auditConsistencyInput) (*auditConsistencyOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermAuditRead)
		if err != nil {
			return nil, err
		}
		return auditConsistency(ctx, svc, tenant, in.AuditRange)
	})
	Register(s, huma.Operation{
		OperationID: "prove-platform-audit-entry", Method: http.MethodGet, Path: "/api/v1/audit-log/{entry_id}/proof",
		Summary: "Inclusion proof of a platform audit entry (operators)", Tags: tags, Security: BearerAuth, Description: proofDoc,
	}, func(ctx context.Context, in *struct {
		EntryID string `path:"entry_id" doc:"Audit entry id"`
	}) (*auditProofOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		return auditProve(ctx, svc, audit.PlatformChain, in.EntryID)
	})
	Register(s, huma.Operation{
		OperationID: "platform-audit-consistency", Method: http.MethodGet, Path: "/api/v1/audit-log/consistency",
		Summary: "Consistency proof between two sizes of the platform audit chain (operators)", Tags: tags, Security: BearerAuth, Description: consDoc,
	}, func(ctx context.Context, in *AuditRange) (*auditConsistencyOutput, error) {
		if _, err := s.Operator(ctx); err != nil {
			return nil, err
		}
		return auditConsistency(ctx, svc, audit.PlatformChain, *in)
	})
	Register(s, huma.Operation{
		OperationID: "get-audit-note-key", Method: http.MethodGet, Path: "/api/v1/audit/checkpoint-key",
		Summary: "The audit checkpoint key in the signed-note format", Tags: tags, Security: Public,
		Description: "verifier_key is the golang.org/x/mod/sumdb/note verifier key (name+hash+base64(0x01||Ed25519 key)) " +
			"that opens every checkpoint note; origin_prefix + \"/\" + chain id is each chain's origin line. 404 when checkpoints are not signed.",
	}, func(ctx context.Context, _ *struct{}) (*auditNoteKeyOutput, error) {
		pub := svc.PublicKey()
		if pub == nil {
			return nil, eusaas.E(eusaas.NotFound, "audit checkpoints are not signed on this server")
		}
		out := &auditNoteKeyOutput{}
		out.Body.VerifierKey = svc.NoteVerifierKey()
		out.Body.Name = svc.LogOrigin()
		out.Body.OriginPrefix = svc.LogOrigin()
		out.Body.Algorithm = "Ed25519"
		out.Body.KeyID = audit.KeyID(pub)
		out.Body.PublicKey = base64.StdEncoding.EncodeToString(pub)
		return out, nil
	})
}

type auditProofInput struct {
	ID      string `path:"id" doc:"Tenant id"`
	EntryID string `path:"entry_id" doc:"Audit entry id"`
}

// AuditRange is the from/to query of the consistency routes.
type AuditRange struct {
	From int64 `query:"from" doc:"Smaller tree size (required, >= 1; checked after authorization)"`
	To   int64 `query:"to" doc:"Larger tree size (required, from..the chain size)"`
}

type auditConsistencyInput struct {
	ID string `path:"id" doc:"Tenant id"`
	AuditRange
}

// AuditProof is an inclusion proof (hashes base64, as RFC 6962 tooling expects).
type AuditProof struct {
	EntryID        string   `json:"entry_id"`
	Seq            int64    `json:"seq"`
	LeafIndex      int64    `json:"leaf_index" doc:"seq - 1"`
	TreeSize       int64    `json:"tree_size"`
	LeafHash       string   `json:"leaf_hash" doc:"base64 SHA-256(0x00 || entry hash)"`
	InclusionProof []string `json:"inclusion_proof" doc:"base64 hashes, leaf to root"`
	RootHash       string   `json:"root_hash" doc:"base64"`
	Checkpoint     *string  `json:"checkpoint" doc:"The signed checkpoint note at tree_size; null when checkpoints are not signed"`
}

type auditProofOutput struct{ Body AuditProof }

// AuditConsistency is a consistency proof.
type AuditConsistency struct {
	From     int64    `json:"from"`
	To       int64    `json:"to"`
	Proof    []string `json:"proof" doc:"base64 hashes"`
	FromRoot string   `json:"from_root" doc:"base64 root of the tree of size from, as stored (check it against a checkpoint)"`
	ToRoot   string   `json:"to_root" doc:"base64 root of the tree of size to, as stored"`
}

type auditConsistencyOutput struct{ Body AuditConsistency }

type auditNoteKeyOutput struct {
	Body struct {
		VerifierKey  string `json:"verifier_key" doc:"signed-note verifier key"`
		Name         string `json:"name" doc:"key name"`
		OriginPrefix string `json:"origin_prefix"`
		Algorithm    string `json:"algorithm"`
		KeyID        string `json:"key_id"`
		PublicKey    string `json:"public_key" doc:"Raw 32-byte key, base64"`
	}
}

func b64(hs []audit.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

func auditProve(ctx context.Context, svc *audit.Service, chain eusaas.TenantID, entryID string) (*auditProofOutput, error) {
	id, err := uuid.Parse(entryID)
	if err != nil {
		return nil, eusaas.Invalid("invalid entry id", eusaas.FieldViolation{Location: "path.entry_id", Message: "must be a UUID"})
	}
	p, err := svc.Prove(ctx, chain, id)
	if err != nil {
		return nil, err
	}
	out := &auditProofOutput{Body: AuditProof{EntryID: p.Entry.ID.String(), Seq: p.Entry.Seq, LeafIndex: p.LeafIndex, TreeSize: p.TreeSize,
		LeafHash: base64.StdEncoding.EncodeToString(p.LeafHash[:]), InclusionProof: b64(p.Proof),
		RootHash: base64.StdEncoding.EncodeToString(p.Root[:])}}
	if p.Checkpoint != nil {
		n := string(p.Checkpoint.Note)
		out.Body.Checkpoint = &n
	}
	return out, nil
}

func auditConsistency(ctx context.Context, svc *audit.Service, chain eusaas.TenantID, r AuditRange) (*auditConsistencyOutput, error) {
	p, err := svc.Consistency(ctx, chain, r.From, r.To)
	if err != nil {
		return nil, err
	}
	return &auditConsistencyOutput{Body: AuditConsistency{From: p.From, To: p.To, Proof: b64(p.Proof),
		FromRoot: base64.StdEncoding.EncodeToString(p.FromRoot[:]), ToRoot: base64.StdEncoding.EncodeToString(p.ToRoot[:])}}, nil
}

// masksOthers reports whether p sees other persons' personal values in audit entries only
// masked: tenant roles that need the log's facts but not who exactly (MEMBER, VIEWER).
// OWNER and ADMIN administer the tenant's users and see them in full, as operators do.
func masksOthers(p auth.Principal) bool {
	return p.Kind != eusaas.ActorOperator && (p.Role == auth.RoleMember || p.Role == auth.RoleViewer)
}

// maskPersonal masks every personal value of v (erased ones stay null).
func maskPersonal(v *AuditEntry) {
	if v.IPAddress != nil {
		m := maskIP(*v.IPAddress)
		v.IPAddress = &m
	}
	if v.UserAgent != nil {
		m := masked
		v.UserAgent = &m
	}
	for k, val := range v.Personal {
		if s, ok := val.(string); ok {
			v.Personal[k] = maskValue(s)
		}
	}
}

// masked stands for a withheld value.
const masked = "***"

// maskValue masks an e-mail address to its first character and domain, an IP address to
// its network, anything else entirely.
func maskValue(s string) string {
	if at := strings.LastIndexByte(s, '@'); at > 0 {
		r, _ := utf8.DecodeRuneInString(s)
		return string(r) + masked + s[at:]
	} else if at == 0 {
		return masked + s
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return maskIP(s)
	}
	return masked
}

// maskIP truncates an IPv4 address to its /24 and an IPv6 address to its /48, in prefix
// notation ("192.0.2.0/24") so the truncation is visible.
func maskIP(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return masked
	}
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	return netip.PrefixFrom(a.WithZone(""), bits).Masked().String()
}
