package audit

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/eusaas/eusaas"
)

// EntryView is an entry as people read it — the REST API, GDPR exports and offline tools all
// show this one form: snake_case fields, ids as strings, personal values by name with erased
// ones marked. It lives here, not in a transport, so every reader of the log agrees on it.
type EntryView struct {
	ID           string         `json:"id"`
	Chain        string         `json:"chain" doc:"Tenant id of the chain; the zero UUID for the platform chain"`
	Seq          int64          `json:"seq"`
	TenantID     *string        `json:"tenant_id" doc:"Tenant the entry concerns; null for none"`
	Actor        ActorView      `json:"actor"`
	UserID       *string        `json:"user_id" doc:"Acting user or operator id"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resource_type"`
	ResourceID   string         `json:"resource_id"`
	Changes      map[string]any `json:"changes"`
	IPAddress    *string        `json:"ip_address" doc:"null when absent or erased"`
	UserAgent    *string        `json:"user_agent" doc:"null when absent or erased"`
	Personal     map[string]any `json:"personal" doc:"Personal values by name; erased ones are null"`
	ErasedFields []string       `json:"erased_fields" doc:"Personal fields whose values were erased"`
	Timestamp    time.Time      `json:"timestamp"`
	PrevHash     string         `json:"prev_hash"`
	Hash         string         `json:"hash"`
}

// ActorView is who acted.
type ActorView struct {
	Kind     string  `json:"kind" enum:"user,operator,service,api_key,system"`
	ID       string  `json:"id"`
	TenantID *string `json:"tenant_id"`
}

// CheckpointView is a signed statement of a chain's head: Ed25519 over the canonical message
// of (chain, size, head_hash, signed_at, key_id), see checkpoint.go.
type CheckpointView struct {
	Chain     string    `json:"chain"`
	Size      int64     `json:"size"`
	HeadHash  string    `json:"head_hash" doc:"hex"`
	SignedAt  time.Time `json:"signed_at"`
	KeyID     string    `json:"key_id"`
	Signature string    `json:"signature" doc:"base64"`
	RootHash  *string   `json:"root_hash" doc:"base64 Merkle tree root at size; null for checkpoints from before the tree"`
	Note      *string   `json:"note" doc:"the checkpoint in the signed-note format (origin, size, base64 root, signature)"`
}

// NewCheckpointView renders c.
func NewCheckpointView(c Checkpoint) CheckpointView {
	v := CheckpointView{Chain: c.Chain.String(), Size: c.Size, HeadHash: c.Head.String(), SignedAt: c.Time,
		KeyID: c.KeyID, Signature: base64.StdEncoding.EncodeToString(c.Signature)}
	if len(c.Note) > 0 {
		r, n := base64.StdEncoding.EncodeToString(c.Root[:]), string(c.Note)
		v.RootHash, v.Note = &r, &n
	}
	return v
}

func tenantPtr(id eusaas.TenantID) *string {
	if id.IsZero() {
		return nil
	}
	s := id.String()
	return &s
}

// NewEntryView renders e.
func NewEntryView(e Entry) EntryView {
	v := EntryView{
		ID: e.ID.String(), Chain: e.Chain.String(), Seq: e.Seq, TenantID: tenantPtr(e.TenantID),
		Actor:  ActorView{Kind: string(e.Actor.Kind), ID: e.Actor.ID, TenantID: tenantPtr(e.Actor.TenantID)},
		Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID,
		Changes: map[string]any{}, Personal: map[string]any{}, ErasedFields: []string{},
		Timestamp: e.Timestamp, PrevHash: e.PrevHash.String(), Hash: e.Hash.String(),
	}
	if e.Actor.Kind == eusaas.ActorUser || e.Actor.Kind == eusaas.ActorOperator {
		id := e.Actor.ID
		v.UserID = &id
	}
	if len(e.Changes) > 0 {
		if err := json.Unmarshal(e.Changes, &v.Changes); err != nil {
			v.Changes = map[string]any{"_raw": string(e.Changes)}
		}
	}
	for _, f := range e.Personal {
		var val *string
		if f.Erased {
			v.ErasedFields = append(v.ErasedFields, f.Name)
		} else {
			s := f.Value
			val = &s
		}
		switch f.Name {
		case FieldIPAddress:
			v.IPAddress = val
		case FieldUserAgent:
			v.UserAgent = val
		default:
			if val == nil {
				v.Personal[f.Name] = nil
			} else {
				v.Personal[f.Name] = *val
			}
		}
	}
	return v
}
