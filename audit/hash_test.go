package audit_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/memaudit"
)

func fixedEntry() audit.Entry {
	tenant := eusaas.TenantID(uuid.MustParse("0190f1c2-0000-7000-8000-000000000001"))
	return audit.Entry{
		ID:           uuid.MustParse("0190f1c2-0000-7000-8000-0000000000aa"),
		Chain:        tenant,
		Seq:          42,
		TenantID:     tenant,
		Actor:        eusaas.Actor{Kind: eusaas.ActorUser, ID: "user-1", TenantID: tenant},
		Action:       "UPDATE",
		ResourceType: "invoice",
		ResourceID:   "inv-1",
		Subject:      "user-1",
		Changes:      []byte(`{"status":"ISSUED"}`),
		Personal: []audit.PersonalField{
			{Name: "email", Commitment: audit.Hash{1}},
			{Name: "ip_address", Commitment: audit.Hash{2}},
		},
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		PrevHash:  audit.Hash{9, 9, 9},
	}
}

// The encoding is a published format: its hash for a fixed entry never changes within v1.
// (This value was also reproduced independently from the layout documented in hash.go.)
func TestEntryHashGolden(t *testing.T) {
	e := fixedEntry()
	h := audit.EntryHash(&e)
	require.Equal(t, "872d32493908552b08fc1f6ccc3136c7c97efb5cd8dbb58aa6d6ac3e9c171370", hex.EncodeToString(h[:]), "v1 encoding changed: bump the version tag instead")
}

// Every field is covered: changing any one changes the hash. Values that only move bytes
// between adjacent strings do too (length prefixes).
func TestEntryHashCoversEveryField(t *testing.T) {
	base := fixedEntry()
	h0 := audit.EntryHash(&base)
	other := eusaas.NewTenantID()
	mutations := map[string]func(e *audit.Entry){
		"id":                  func(e *audit.Entry) { e.ID = uuid.New() },
		"chain":               func(e *audit.Entry) { e.Chain = other },
		"seq":                 func(e *audit.Entry) { e.Seq++ },
		"tenant_id":           func(e *audit.Entry) { e.TenantID = other },
		"actor.kind":          func(e *audit.Entry) { e.Actor.Kind = eusaas.ActorOperator },
		"actor.id":            func(e *audit.Entry) { e.Actor.ID = "user-2" },
		"actor.tenant_id":     func(e *audit.Entry) { e.Actor.TenantID = other },
		"action":              func(e *audit.Entry) { e.Action = "DELETE" },
		"resource_type":       func(e *audit.Entry) { e.ResourceType = "user" },
		"resource_id":         func(e *audit.Entry) { e.ResourceID = "inv-2" },
		"subject":             func(e *audit.Entry) { e.Subject = "" },
		"changes":             func(e *audit.Entry) { e.Changes = []byte(`{"status":"VOID"}`) },
		"personal.name":       func(e *audit.Entry) { e.Personal[0].Name = "phone" },
		"personal.commitment": func(e *audit.Entry) { e.Personal[1].Commitment = audit.Hash{3} },
		"personal.count":      func(e *audit.Entry) { e.Personal = e.Personal[:1] },
		"timestamp":           func(e *audit.Entry) { e.Timestamp = e.Timestamp.Add(time.Microsecond) },
		"prev_hash":           func(e *audit.Entry) { e.PrevHash[31] = 1 },
		"boundary":            func(e *audit.Entry) { e.ResourceType, e.ResourceID = "invoiceinv", "-1" },
	}
	for name, mut := range mutations {
		e := fixedEntry()
		mut(&e)
		require.NotEqual(t, h0, audit.EntryHash(&e), name)
	}
	// The personal values themselves are not in the chain (they are erasable).
	e := fixedEntry()
	e.Personal[0].Value, e.Personal[0].Erased = "someone@example.org", true
	require.Equal(t, h0, audit.EntryHash(&e))
}

func TestCommitAndCheckpointSeparation(t *testing.T) {
	id := uuid.New()
	k1, k2 := []byte("key-one-key-one-key-one-key-one!"), []byte("key-two-key-two-key-two-key-two!")
	require.NotEqual(t, audit.Commit(k1, id, "ip_address", "1.2.3.4"), audit.Commit(k2, id, "ip_address", "1.2.3.4"), "keyed")
	require.NotEqual(t, audit.Commit(k1, id, "ip_address", "1.2.3.4"), audit.Commit(k1, uuid.New(), "ip_address", "1.2.3.4"), "per entry")
	require.NotEqual(t, audit.Commit(k1, id, "a", "bc"), audit.Commit(k1, id, "ab", "c"), "length-prefixed")

	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := key.Public().(ed25519.PublicKey)
	c := audit.Checkpoint{Chain: eusaas.NewTenantID(), Size: 7, Head: audit.Hash{7}, Time: audit.Normalize(time.Now()), KeyID: audit.KeyID(pub)}
	c.Signature = ed25519.Sign(key, audit.CheckpointMessage(c))
	require.True(t, audit.VerifyCheckpoint(pub, c))
	for name, mut := range map[string]func(*audit.Checkpoint){
		"chain": func(c *audit.Checkpoint) { c.Chain = eusaas.NewTenantID() },
		"size":  func(c *audit.Checkpoint) { c.Size = 6 },
		"head":  func(c *audit.Checkpoint) { c.Head[0] = 8 },
		"time":  func(c *audit.Checkpoint) { c.Time = c.Time.Add(time.Second) },
		"key":   func(c *audit.Checkpoint) { c.KeyID = "other" },
	} {
		x := c
		mut(&x)
		require.False(t, audit.VerifyCheckpoint(pub, x), name)
	}
	// JSON round trip keeps it verifiable.
	b, err := c.MarshalJSON()
	require.NoError(t, err)
	var back audit.Checkpoint
	require.NoError(t, back.UnmarshalJSON(b))
	require.True(t, audit.VerifyCheckpoint(pub, back))
}

func TestRecordTakesActorAndMetaFromContext(t *testing.T) {
	ctx := context.Background()
	store := memaudit.NewStore()
	svc := newService(t, audit.Deps{Store: store, Keys: store}, audit.Options{})
	tenant := eusaas.NewTenantID()
	actor := eusaas.Actor{Kind: eusaas.ActorUser, ID: "u-ctx", TenantID: tenant}
	rctx := eusaas.WithRequestMeta(eusaas.WithActor(ctx, actor), eusaas.RequestMeta{IP: "198.51.100.9", UserAgent: "ua"})
	e, err := svc.RecordEntry(rctx, eusaas.AuditEvent{TenantID: tenant, Action: audit.ActionLogout})
	require.NoError(t, err)
	require.Equal(t, actor, e.Actor)
	ip, ok := e.Field(audit.FieldIPAddress)
	require.True(t, ok)
	require.Equal(t, "198.51.100.9", ip.Value)
	require.Equal(t, "u-ctx", e.Subject, "the actor owns its IP address")
	e, err = svc.RecordEntry(ctx, eusaas.AuditEvent{TenantID: tenant, Action: audit.ActionLogout})
	require.NoError(t, err)
	require.Equal(t, eusaas.System, e.Actor)
	require.Empty(t, e.Personal)
}

func TestSystemIsNoSubject(t *testing.T) {
	ctx := context.Background()
	store := memaudit.NewStore()
	svc := newService(t, audit.Deps{Store: store, Keys: store}, audit.Options{})
	tenant := eusaas.NewTenantID()
	ev := eusaas.AuditEvent{TenantID: tenant, Actor: eusaas.System, Action: "LOGIN_FAILED", Personal: map[string]string{"email": "x@example.org"}}
	a, err := svc.RecordEntry(ctx, ev)
	require.NoError(t, err)
	b, err := svc.RecordEntry(ctx, ev)
	require.NoError(t, err)
	require.NotEqual(t, "system", a.Subject)
	require.NotEqual(t, a.Subject, b.Subject, "one key per entry")
	n, err := svc.EraseSubject(ctx, tenant, a.Subject)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

// Note keys work for every key, also those whose base64 contains "+" (the note key string
// is "+"-separated).
func TestNoteKeysAnyKey(t *testing.T) {
	for i := range 200 {
		seed := make([]byte, ed25519.SeedSize)
		seed[0], seed[1] = byte(i), byte(i>>8)
		nk, err := audit.NewNoteKeys(audit.DefaultLogOrigin, ed25519.NewKeyFromSeed(seed))
		require.NoError(t, err)
		msg, err := note.Sign(&note.Note{Text: audit.CheckpointBody("o", 1, audit.Hash{1})}, nk.Signer)
		require.NoError(t, err)
		_, err = note.Open(msg, note.VerifierList(nk.Verifier))
		require.NoError(t, err)
	}
}
