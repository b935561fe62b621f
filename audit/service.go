package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"github.com/eusaas/eusaas"
)

// Deps are the ports a Service runs on. Store and Keys are required.
type Deps struct {
	Store Store
	Keys  KeyStore
	// Sink receives a copy of every checkpoint (optional).
	Sink CheckpointSink
	// Tx makes erasure of side data and key one transaction (optional).
	Tx eusaas.TxRunner
}

// Options configure a Service. Zero values take the defaults.
type Options struct {
	Clock eusaas.Clock
	// Signer signs checkpoints. Without one no checkpoints are made (and truncation of the
	// tail cannot be detected).
	Signer ed25519.PrivateKey
	// PreviousKeys are retired signing keys whose checkpoints the verifier still trusts.
	PreviousKeys []ed25519.PublicKey
	// CheckpointEvery makes a checkpoint once this many entries were appended since the last
	// one (default 1000).
	CheckpointEvery int64
	// CheckpointInterval makes a checkpoint of a chain with new entries once this much time
	// passed since its last one (default 1 minute): on the next append, or from Run.
	CheckpointInterval time.Duration
	// MaxBatch caps the entries of one group commit (default 512).
	MaxBatch int
	Logger   *slog.Logger
	// LogOrigin names the log in signed-note checkpoints: a chain's origin line is
	// LogOrigin + "/" + chain id, and the note key is named LogOrigin (default
	// "eusaas/audit"). It must not contain spaces or "+".
	LogOrigin string
	// OnForgery is called (besides an error log and ForgeriesDetected) whenever a chain's
	// stored state does not match what the writers signed: the alert hook for a metric or a
	// pager. It must not block.
	OnForgery func(chain eusaas.TenantID, detail string)
	// ObserveAppend, when set, is called after every Record with how long it took until
	// the entry was durable (or the append failed): the group commit's wait included, which
	// is what a request recording an entry waits for. For metrics; it must not block.
	ObserveAppend func(took time.Duration, err error)
}

// DefaultLogOrigin is the default Options.LogOrigin.
const DefaultLogOrigin = "eusaas/audit"

// Service is the audit log. It implements eusaas.Recorder.
type Service struct {
	store  Store
	keys   KeyStore
	sink   CheckpointSink
	tx     eusaas.TxRunner
	opts   Options
	pub    ed25519.PublicKey
	keyID  string
	log    *slog.Logger
	closed chan struct{}
	note   NoteKeys // with a signer
	// trusted are the keys whose head signatures and checkpoints are accepted, by KeyID.
	trusted   map[string]ed25519.PublicKey
	forgeries atomic.Uint64

	mu     sync.Mutex
	chains map[eusaas.TenantID]*chainState
}

// chainState is the per-chain group commit queue and checkpoint bookkeeping.
type chainState struct {
	mu      sync.Mutex
	queue   []*pending
	leading bool

	cpMu     sync.Mutex // serialises checkpointing of the chain
	cpLoaded bool
	last     Checkpoint // latest checkpoint made or loaded
	dirty    bool       // entries appended since last
	hasTree  bool       // some checkpoint of the chain carries a tree root
	seen     int64      // largest head size this process appended or checkpointed
	wrote    Head       // the head this process's last group commit produced
}

type pending struct {
	entry Entry
	done  chan error // buffered(1)
}

var _ eusaas.Recorder = (*Service)(nil)

// NewService returns the audit service over d's ports. A missing required port is an
// InvalidArgument error naming every missing one, so a wiring mistake surfaces at start-up
// rather than as a nil dereference on the first event.
func NewService(d Deps, opts Options) (*Service, error) {
	var missing []string
	if d.Store == nil {
		missing = append(missing, "Store")
	}
	if d.Keys == nil {
		missing = append(missing, "Keys")
	}
	if len(missing) > 0 {
		return nil, eusaas.Errorf(eusaas.InvalidArgument, "audit: missing required ports: %v", missing)
	}
	if opts.Clock == nil {
		opts.Clock = eusaas.SystemClock
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = 1000
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = time.Minute
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if d.Tx == nil {
		d.Tx = eusaas.NoTx
	}
	s := &Service{store: d.Store, keys: d.Keys, sink: d.Sink, tx: d.Tx, opts: opts, log: opts.Logger, closed: make(chan struct{}),
		chains: map[eusaas.TenantID]*chainState{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.opts.LogOrigin == "" {
		s.opts.LogOrigin = DefaultLogOrigin
	}
	s.trusted = map[string]ed25519.PublicKey{}
	for _, k := range opts.PreviousKeys {
		s.trusted[KeyID(k)] = k
	}
	if opts.Signer != nil {
		s.pub = opts.Signer.Public().(ed25519.PublicKey)
		s.keyID = KeyID(s.pub)
		s.trusted[s.keyID] = s.pub
		nk, err := NewNoteKeys(s.opts.LogOrigin, opts.Signer)
		if err != nil {
			return nil, eusaas.Errorf(eusaas.InvalidArgument, "audit: LogOrigin %q is not a valid note key name", s.opts.LogOrigin)
		}
		s.note = nk
	}
	return s, nil
}

// PublicKey is the checkpoint verification key (nil without a signer). It is meant to be
// published: anyone holding it can check checkpoints.
func (s *Service) PublicKey() ed25519.PublicKey { return s.pub }

// NoteVerifierKey is the checkpoint key in the signed-note verifier key format
// ("<name>+<hash>+<base64>"); empty without a signer.
func (s *Service) NoteVerifierKey() string { return s.note.VerifierKey }

// LogOrigin is the prefix of the chains' checkpoint origin lines and the note key name.
func (s *Service) LogOrigin() string { return s.opts.LogOrigin }

// ForgeriesDetected counts the times a chain's stored state was found not to match what the
// writers signed (a counter for /metrics: eusaas_audit_forgeries_detected_total).
func (s *Service) ForgeriesDetected() uint64 { return s.forgeries.Load() }

// forgery raises the alert: counter, error log, hook.
func (s *Service) forgery(chain eusaas.TenantID, detail string) error {
	s.forgeries.Add(1)
	s.log.Error("audit: FORGERY DETECTED: the stored chain does not match what its writers signed; nothing will be signed over it",
		"chain", chain.String(), "detail", detail)
	if s.opts.OnForgery != nil {
		s.opts.OnForgery(chain, detail)
	}
	return ErrForged.Withf("audit chain does not match what its writers signed: %s", detail)
}

// Verifier returns a verifier over the service's stores and public key.
func (s *Service) Verifier() *Verifier {
	v := &Verifier{Store: s.store, Keys: s.keys, PublicKey: s.pub, PreviousKeys: s.opts.PreviousKeys, LogOrigin: s.opts.LogOrigin}
	if src, ok := s.sink.(CheckpointSource); ok {
		v.Source = src
	}
	return v
}

func (s *Service) chain(id eusaas.TenantID) *chainState {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chains[id]
	if c == nil {
		c = &chainState{}
		s.chains[id] = c
	}
	return c
}

// Record appends ev to its chain (the tenant's, or the platform chain when ev.TenantID is
// zero). An event without an actor takes the context's (eusaas.ActorFrom), one without
// request metadata the context's (eusaas.RequestMetaFrom). It returns once the entry is committed, or, when ctx carries a transaction of the
// store's adapter, once it is written in that transaction. Concurrent calls for the same chain
// are committed together (group commit).
func (s *Service) Record(ctx context.Context, ev eusaas.AuditEvent) error {
	_, err := s.observed(ctx, ev)
	return err
}

// observed is record reported to Options.ObserveAppend.
func (s *Service) observed(ctx context.Context, ev eusaas.AuditEvent) (Entry, error) {
	if s.opts.ObserveAppend == nil {
		return s.record(ctx, ev)
	}
	start := time.Now()
	e, err := s.record(ctx, ev)
	s.opts.ObserveAppend(time.Since(start), err)
	return e, err
}

// RecordEntry is Record returning the stored entry.
func (s *Service) RecordEntry(ctx context.Context, ev eusaas.AuditEvent) (Entry, error) {
	return s.observed(ctx, ev)
}

func (s *Service) record(ctx context.Context, ev eusaas.AuditEvent) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	select {
	case <-s.closed:
		return Entry{}, ErrClosed
	default:
	}
	// Modules may leave who and from where to the request context the HTTP layer filled.
	if ev.Actor.Kind == "" && ev.Actor.ID == "" {
		ev.Actor = eusaas.ActorFrom(ctx)
	}
	if ev.Meta == (eusaas.RequestMeta{}) {
		ev.Meta = eusaas.RequestMetaFrom(ctx)
	}
	e, err := s.prepare(ctx, ev)
	if err != nil {
		return Entry{}, err
	}
	if s.store.InTx(ctx) {
		c := s.chain(e.Chain)
		kn, err := s.known(ctx, e.Chain, c)
		if err != nil {
			return Entry{}, err
		}
		var out Entry
		err = s.store.Append(ctx, e.Chain, func(h Head) (Batch, error) {
			out = e
			return s.seal(e.Chain, h, []*Entry{&out}, kn)
		})
		if err != nil {
			return Entry{}, err
		}
		c.markDirty()
		return out, nil
	}
	return s.enqueue(ctx, e)
}

// prepare builds everything of the entry that does not depend on its position: id, time,
// tenant, canonical changes and the personal commitments.
func (s *Service) prepare(ctx context.Context, ev eusaas.AuditEvent) (Entry, error) {
	if err := ValidateEvent(ev); err != nil {
		return Entry{}, err
	}
	e := Entry{
		ID:           uuid.Must(uuid.NewV7()),
		Chain:        ev.TenantID,
		TenantID:     ev.TenantID,
		Actor:        ev.Actor,
		Action:       ev.Action,
		ResourceType: ev.ResourceType,
		ResourceID:   ev.ResourceID,
		Timestamp:    Normalize(s.opts.Clock.Now()),
	}
	if e.Chain.IsZero() {
		e.TenantID = platformTenant(ev)
	}
	if len(ev.Changes) > 0 {
		// encoding/json writes map keys sorted and no insignificant space, so the same
		// changes always give the same bytes; the hash covers the bytes as stored anyway.
		b, err := json.Marshal(ev.Changes)
		if err != nil {
			return Entry{}, eusaas.Invalid("invalid audit event", eusaas.FieldViolation{Location: "changes", Message: "must be JSON-encodable"})
		}
		if len(b) > MaxChanges {
			return Entry{}, eusaas.Invalid("invalid audit event", eusaas.FieldViolation{Location: "changes", Message: "too large"})
		}
		e.Changes = b
	}
	values := make(map[string]string, len(ev.Personal)+2)
	for k, v := range ev.Personal {
		values[k] = v
	}
	if ev.Meta.IP != "" {
		values[FieldIPAddress] = ev.Meta.IP
	}
	if ev.Meta.UserAgent != "" {
		values[FieldUserAgent] = ev.Meta.UserAgent
	}
	if len(values) == 0 {
		e.Subject = ev.Subject
		return e, nil
	}
	e.Subject = subjectOf(ev, e.ID)
	key, _, err := s.keys.SubjectKey(ctx, e.TenantID, e.Subject, true)
	if err != nil {
		return Entry{}, err
	}
	e.Personal = make([]PersonalField, 0, len(values))
	for name, v := range values {
		e.Personal = append(e.Personal, PersonalField{Name: name, Value: v, Commitment: Commit(key, e.ID, name, v)})
	}
	sort.Slice(e.Personal, func(i, j int) bool { return e.Personal[i].Name < e.Personal[j].Name })
	return e, nil
}

// platformTenant is the tenant a platform-chain entry concerns.
func platformTenant(ev eusaas.AuditEvent) eusaas.TenantID {
	if ev.ResourceType == ResourceTenant {
		if id, err := eusaas.ParseTenantID(ev.ResourceID); err == nil {
			return id
		}
	}
	return ev.Actor.TenantID
}

// entrySubjectPrefix marks the subject of values that belong to no known person.
const entrySubjectPrefix = "entry:"

// subjectOf picks the data subject owning an entry's personal values: the event's subject,
// else the acting user, operator or service (whose IP address and user agent they are), else
// a subject of its own for this one entry.
func subjectOf(ev eusaas.AuditEvent, id uuid.UUID) string {
	if ev.Subject != "" {
		return ev.Subject
	}
	// The system actor is not a person: personal values it records (an unknown e-mail in
	// a failed login) get a key of their own.
	if ev.Actor.ID != "" && ev.Actor.Kind != eusaas.ActorSystem {
		return ev.Actor.ID
	}
	return entrySubjectPrefix + id.String()
}

// seal places entries after head: seqs, prev hashes, hashes and tree hashes, and signs the
// new head. It first checks that head is one a writer signed (with a signer): a head
// written behind the writers' back is a forgery, and nothing is appended (or signed) on top
// of it.
func (s *Service) seal(chain eusaas.TenantID, h Head, entries []*Entry, kn known) (Batch, error) {
	if err := s.checkHead(chain, h, kn); err != nil {
		return Batch{}, err
	}
	prev := h.Hash
	f := append(Frontier(nil), h.Frontier...)
	var hs hasher
	out := Batch{Entries: make([]Entry, len(entries))}
	for i, e := range entries {
		e.Seq = h.Size + int64(i) + 1
		e.PrevHash = prev
		e.Hash = hs.hash(e)
		e.TreeHashes = f.Append(e.Seq-1, LeafHash(e.Hash))
		prev = e.Hash
		out.Entries[i] = *e
	}
	out.Head = Head{Size: h.Size + int64(len(entries)), Hash: prev, Root: f.Root(), Frontier: f}
	if s.opts.Signer != nil {
		out.Head.Sig = signHead(s, chain, out.Head)
	}
	return out, nil
}

// known is what this process knows of a chain beyond its stored head.
type known struct {
	// trustUnsigned accepts a head without a signature (or without a tree): the chain never
	// had a tree checkpoint (written without a signer, or before the upgrade).
	trustUnsigned bool
	// seen is the largest size this process saw the head at: heads only move forward.
	seen int64
	// wrote is the head this process itself produced last: finding exactly it again needs
	// no signature check (the common case of consecutive group commits of one process).
	wrote Head
}

func sameHead(a, b Head) bool {
	if a.Size != b.Size || a.Hash != b.Hash || a.Root != b.Root || !bytes.Equal(a.Sig, b.Sig) || len(a.Frontier) != len(b.Frontier) {
		return false
	}
	for i := range a.Frontier {
		if a.Frontier[i] != b.Frontier[i] {
			return false
		}
	}
	return true
}

// checkHead checks a head read from the store: it is not behind one this process saw, it
// carries the tree, its frontier gives its root, and (with a signer) a trusted key signed it.
func (s *Service) checkHead(chain eusaas.TenantID, h Head, kn known) error {
	if h.Size < kn.seen {
		return s.forgery(chain, fmt.Sprintf("head moved back from %d to %d", kn.seen, h.Size))
	}
	if h.Size == 0 || (kn.wrote.Size > 0 && sameHead(h, kn.wrote)) {
		return nil
	}
	if !h.HasTree() {
		if kn.trustUnsigned {
			return ErrUpgrade
		}
		return s.forgery(chain, fmt.Sprintf("head at size %d carries no tree", h.Size))
	}
	if bits.OnesCount64(uint64(h.Size)) != len(h.Frontier) || h.Frontier.Root() != h.Root {
		return s.forgery(chain, fmt.Sprintf("head at size %d: its tree frontier does not give its root", h.Size))
	}
	if s.opts.Signer == nil {
		return nil
	}
	if len(h.Sig) == 0 {
		if kn.trustUnsigned {
			return nil
		}
		return s.forgery(chain, fmt.Sprintf("head at size %d carries no writer signature", h.Size))
	}
	msg := HeadMessage(chain, h)
	for _, k := range s.trusted {
		if ed25519.Verify(k, msg, h.Sig) {
			return nil
		}
	}
	return s.forgery(chain, fmt.Sprintf("head at size %d (hash %s, root %s) was not signed by a writer", h.Size, hexHash(h.Hash), hexHash(h.Root)))
}

// known loads what the process knows of chain: unsigned heads are acceptable only while the
// chain has no checkpoint with a tree root (after that every head is signed).
func (s *Service) known(ctx context.Context, chain eusaas.TenantID, c *chainState) (known, error) {
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	if s.opts.Signer == nil {
		return known{trustUnsigned: true, seen: c.seen, wrote: c.wrote}, nil
	}
	if !c.cpLoaded {
		if err := s.loadLast(ctx, chain, c); err != nil {
			return known{}, err
		}
	}
	return known{trustUnsigned: !c.hasTree, seen: max(c.seen, c.last.Size), wrote: c.wrote}, nil
}

// saw records the head a group commit of this process produced.
func (c *chainState) saw(h Head) {
	c.cpMu.Lock()
	c.seen = max(c.seen, h.Size)
	if h.Size >= c.wrote.Size {
		c.wrote = h
	}
	c.cpMu.Unlock()
}

// enqueue adds e to its chain's group commit and waits for the outcome. The first caller to
// find no commit in progress becomes the leader: it takes everything queued (up to
// MaxBatch) and appends it in one store transaction; callers arriving meanwhile queue up for
// the next batch, which the leader hands to a fresh goroutine.
func (s *Service) enqueue(ctx context.Context, e Entry) (Entry, error) {
	c := s.chain(e.Chain)
	p := &pending{entry: e, done: make(chan error, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, p)
	lead := !c.leading
	if lead {
		c.leading = true
	}
	c.mu.Unlock()
	if lead {
		s.lead(ctx, e.Chain, c)
	}
	select {
	case err := <-p.done:
		return p.entry, err
	case <-ctx.Done():
		// Still queued: withdraw it. Already taken into a batch: its fate is decided by
		// the batch, wait for it so the caller learns the truth.
		c.mu.Lock()
		for i, q := range c.queue {
			if q == p {
				c.queue = append(c.queue[:i], c.queue[i+1:]...)
				c.mu.Unlock()
				return Entry{}, ctx.Err()
			}
		}
		c.mu.Unlock()
		err := <-p.done
		return p.entry, err
	}
}

// lead commits one batch and passes leadership on if more is queued.
func (s *Service) lead(ctx context.Context, chain eusaas.TenantID, c *chainState) {
	c.mu.Lock()
	n := min(len(c.queue), s.opts.MaxBatch)
	batch := make([]*pending, n)
	copy(batch, c.queue[:n])
	c.queue = append(c.queue[:0], c.queue[n:]...)
	if n == 0 { // everything queued was withdrawn by canceled callers
		c.leading = false
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()

	// The batch holds other callers' entries: the leader's cancellation must not abort them.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	entries := make([]*Entry, len(batch))
	for i, p := range batch {
		entries[i] = &p.entry
	}
	var head Head
	kn, err := s.known(bctx, chain, c)
	// A deadlock or serialization failure (Aborted) was rolled back by the database, so the
	// batch can be sealed again on the new head and retried.
	for attempt := 0; err == nil && attempt < 3; attempt++ {
		err = s.store.Append(bctx, chain, func(h Head) (Batch, error) {
			b, err := s.seal(chain, h, entries, kn)
			head = b.Head
			return b, err
		})
		if eusaas.KindOf(err) != eusaas.Aborted || errors.Is(err, ErrConflict) {
			break
		}
		if attempt < 2 {
			err = nil // retry
		}
	}
	for _, p := range batch {
		p.done <- err
	}
	if err == nil {
		c.saw(head)
		s.afterAppend(bctx, chain, c, head)
	}
	cancel()

	// Let the callers just released queue their next entries before the next batch is
	// cut: batches stay large under steady load, and this costs one scheduler pass.
	runtime.Gosched()
	c.mu.Lock()
	if len(c.queue) == 0 {
		c.leading = false
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	go s.lead(context.WithoutCancel(ctx), chain, c)
}

func (c *chainState) markDirty() {
	c.cpMu.Lock()
	c.dirty = true
	c.cpMu.Unlock()
}

// afterAppend makes a checkpoint when one is due.
func (s *Service) afterAppend(ctx context.Context, chain eusaas.TenantID, c *chainState, head Head) {
	if s.opts.Signer == nil {
		return
	}
	c.cpMu.Lock()
	c.dirty = true
	if !c.cpLoaded {
		if err := s.loadLast(ctx, chain, c); err != nil {
			c.cpMu.Unlock()
			s.log.Error("audit: load checkpoint", "chain", chain.String(), "err", err)
			return
		}
	}
	due := head.Size-c.last.Size >= s.opts.CheckpointEvery ||
		s.opts.Clock.Now().Sub(c.last.Time) >= s.opts.CheckpointInterval
	c.cpMu.Unlock()
	if due {
		if _, err := s.Checkpoint(ctx, chain); err != nil {
			s.log.Error("audit: checkpoint", "chain", chain.String(), "err", err)
		}
	}
}

func (s *Service) loadLast(ctx context.Context, chain eusaas.TenantID, c *chainState) error {
	cps, err := s.store.Checkpoints(ctx, chain)
	if err != nil {
		return err
	}
	if len(cps) > 0 {
		c.last = cps[len(cps)-1]
	}
	for _, cp := range cps {
		if len(cp.Note) > 0 {
			c.hasTree = true
		}
	}
	c.cpLoaded = true
	return nil
}

// Checkpoint signs the chain's current head, stores the checkpoint and writes it to the
// sink. With nothing new since the last checkpoint it returns that one.
//
// It signs only what the writers produced: the head must carry a writer's signature, and
// the entries since the previous checkpoint must hash, link and fold into exactly that
// head's chain hash and tree root, starting from the previous checkpoint's (signed) tree.
// Anything else is a forgery: it is alerted (ForgeriesDetected, the error log, OnForgery)
// and nothing is signed.
func (s *Service) Checkpoint(ctx context.Context, chain eusaas.TenantID) (Checkpoint, error) {
	if s.opts.Signer == nil {
		return Checkpoint{}, ErrNoSigner
	}
	c := s.chain(chain)
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	if !c.cpLoaded {
		if err := s.loadLast(ctx, chain, c); err != nil {
			return Checkpoint{}, err
		}
	}
	h, err := s.store.Head(ctx, chain)
	if err != nil {
		return Checkpoint{}, err
	}
	if h.Size == c.last.Size {
		c.dirty = false
		return c.last, nil
	}
	if h.Size < c.last.Size {
		return Checkpoint{}, s.forgery(chain, fmt.Sprintf("head at size %d is behind the checkpoint at %d", h.Size, c.last.Size))
	}
	if err := s.checkHead(chain, h, known{trustUnsigned: !c.hasTree, seen: max(c.seen, c.last.Size)}); err != nil {
		return Checkpoint{}, err
	}
	if err := s.verifySince(ctx, chain, c.last, h); err != nil {
		return Checkpoint{}, err
	}
	cp := Checkpoint{Chain: chain, Size: h.Size, Head: h.Hash, Root: h.Root, Time: Normalize(s.opts.Clock.Now()), KeyID: s.keyID}
	cp.Signature = ed25519.Sign(s.opts.Signer, CheckpointMessage(cp))
	if cp.Note, err = note.Sign(&note.Note{Text: CheckpointBody(Origin(s.opts.LogOrigin, chain), cp.Size, cp.Root)}, s.note.Signer); err != nil {
		return Checkpoint{}, err
	}
	if err := s.store.PutCheckpoint(ctx, cp); err != nil {
		return Checkpoint{}, err
	}
	// Another replica may have stored the checkpoint of this size first: publish the stored
	// one, and every checkpoint the other replicas made since our last, so each sink holds
	// the one sequence the database holds.
	cps, err := s.store.Checkpoints(ctx, chain)
	if err != nil {
		return Checkpoint{}, err
	}
	prevSize := c.last.Size
	for _, x := range cps {
		if x.Size <= prevSize {
			continue
		}
		if x.Size == cp.Size {
			cp = x
		}
		if s.sink != nil && x.Size <= cp.Size {
			if err := s.sink.Write(ctx, x); err != nil {
				return Checkpoint{}, err
			}
		}
	}
	c.last, c.dirty, c.hasTree = cp, false, true
	return cp, nil
}

// verifySince checks that the stored entries after the checkpoint last hash, link and fold
// into exactly head. The starting tree comes from the stored tree hashes, checked against
// last's signed root (a checkpoint from before the tree: from the start of the chain).
func (s *Service) verifySince(ctx context.Context, chain eusaas.TenantID, last Checkpoint, h Head) error {
	from := last.Size
	var f Frontier
	prev := last.Head
	if from > 0 && len(last.Note) > 0 {
		hs, err := (hashReader{ctx, s.store, chain}).ReadHashes(FrontierIndexes(from))
		if err != nil {
			return err
		}
		for _, x := range hs {
			f = append(f, Hash(x))
		}
		if f.Root() != last.Root {
			return s.forgery(chain, fmt.Sprintf("the stored tree no longer gives the root signed at size %d", from))
		}
	} else {
		from, prev = 0, Hash{}
	}
	var hs hasher
	next := from + 1
	var bad string
	err := s.store.ScanRange(ctx, chain, from+1, h.Size, func(e *Entry) error {
		switch {
		case e.Seq != next:
			bad = fmt.Sprintf("entry %d missing", next)
		case hs.hash(e) != e.Hash:
			bad = fmt.Sprintf("entry %d does not match its hash", e.Seq)
		case e.PrevHash != prev:
			bad = fmt.Sprintf("entry %d does not link to entry %d", e.Seq, e.Seq-1)
		case e.Seq == last.Size && e.Hash != last.Head:
			bad = fmt.Sprintf("entry %d is not the one the checkpoint at %d signed", e.Seq, last.Size)
		}
		if bad != "" {
			return errStop
		}
		f.Append(e.Seq-1, LeafHash(e.Hash))
		prev = e.Hash
		next++
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	switch {
	case bad != "":
	case next-1 != h.Size:
		bad = fmt.Sprintf("chain ends at %d, its head is at %d", next-1, h.Size)
	case prev != h.Hash || f.Root() != h.Root:
		bad = fmt.Sprintf("entries %d..%d do not hash to the head the writer signed at %d", from+1, h.Size, h.Size)
	}
	if bad != "" {
		return s.forgery(chain, bad)
	}
	return nil
}

// CheckpointDue checkpoints every chain that has entries newer than its last checkpoint
// and whose last checkpoint is older than the interval (quiet chains), returning the
// number made. Run calls it periodically.
func (s *Service) CheckpointDue(ctx context.Context) (int, error) {
	return s.checkpointDirty(ctx, false)
}

// CheckpointStored checkpoints every chain of the store whose head moved past its last
// checkpoint, whichever process appended the entries, and returns how many checkpoints it
// made. With several processes on one database this is the periodic checkpoint: one job
// per interval on one worker (the job queue's leader schedules it), instead of a timer in
// every process that only knows the chains it wrote itself. A checkpoint another process
// stored meanwhile is adopted, not signed twice (Checkpoint).
func (s *Service) CheckpointStored(ctx context.Context) (int, error) {
	if s.opts.Signer == nil {
		return 0, nil
	}
	var chains []eusaas.TenantID
	var err error
	if l, ok := s.store.(UncheckpointedLister); ok {
		chains, err = l.UncheckpointedChains(ctx)
	} else {
		chains, err = s.store.Chains(ctx)
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range chains {
		c := s.chain(id)
		c.cpMu.Lock()
		before := c.last.Size
		c.cpMu.Unlock()
		cp, err := s.Checkpoint(ctx, id)
		if err != nil {
			return n, err
		}
		if cp.Size > before {
			n++
		}
	}
	return n, nil
}

// Flush checkpoints every chain with entries newer than its last checkpoint, whatever the
// interval; for shutdown.
func (s *Service) Flush(ctx context.Context) (int, error) {
	return s.checkpointDirty(ctx, true)
}

func (s *Service) checkpointDirty(ctx context.Context, all bool) (int, error) {
	if s.opts.Signer == nil {
		return 0, nil
	}
	s.mu.Lock()
	var ids []eusaas.TenantID
	for id, c := range s.chains {
		c.cpMu.Lock()
		if c.dirty && (all || s.opts.Clock.Now().Sub(c.last.Time) >= s.opts.CheckpointInterval) {
			ids = append(ids, id)
		}
		c.cpMu.Unlock()
	}
	s.mu.Unlock()
	n := 0
	for _, id := range ids {
		if _, err := s.Checkpoint(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Run checkpoints quiet chains every CheckpointInterval until ctx ends or Close is called.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.closed:
			return nil
		case <-t.C:
			if _, err := s.CheckpointDue(ctx); err != nil {
				s.log.Error("audit: periodic checkpoint", "err", err)
			}
		}
	}
}

// Close stops Run and refuses new records.
func (s *Service) Close() {
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
}

// List returns a page of a chain's entries, newest first. Erased personal values come back
// with Erased set.
func (s *Service) List(ctx context.Context, chain eusaas.TenantID, f Filter, p eusaas.Page) (eusaas.List[Entry], error) {
	p, err := p.Normalize()
	if err != nil {
		return eusaas.List[Entry]{}, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		var v eusaas.Violations
		v.Add("query.end_date", "must not be before start_date")
		return eusaas.List[Entry]{}, v.Err()
	}
	return s.store.List(ctx, chain, f, p)
}

// Verify verifies one chain (see Verifier.Verify).
func (s *Service) Verify(ctx context.Context, chain eusaas.TenantID) (Report, error) {
	return s.Verifier().Verify(ctx, chain)
}

// LatestCheckpoint returns the chain's latest stored checkpoint.
func (s *Service) LatestCheckpoint(ctx context.Context, chain eusaas.TenantID) (Checkpoint, bool, error) {
	cps, err := s.store.Checkpoints(ctx, chain)
	if err != nil || len(cps) == 0 {
		return Checkpoint{}, false, err
	}
	return cps[len(cps)-1], true, nil
}

// ErasePersonalBefore enforces retention on the personal side data: it deletes the personal
// values of tenant's entries recorded before before (audit_log_retention_days). The chain
// keeps its entries and commitments and still verifies. It returns the number of values
// deleted, is idempotent, and fails with an Internal error when the store does not
// implement PersonalPruner. The values of the subjects in keep (restricted, Art. 18) stay.
func (s *Service) ErasePersonalBefore(ctx context.Context, tenant eusaas.TenantID, before time.Time, keep ...string) (int, error) {
	pr, ok := s.store.(PersonalPruner)
	if !ok {
		return 0, eusaas.E(eusaas.Internal, "audit store cannot prune personal data")
	}
	return pr.DeletePersonalBefore(ctx, tenant, before, keep)
}

// EraseTenantPersonal deletes every personal value recorded about tenant — on its chain and
// on platform-chain entries about it — for the tenant's erasure, after which no person of
// it is identifiable from the log. The entries stay and still verify. Idempotent.
func (s *Service) EraseTenantPersonal(ctx context.Context, tenant eusaas.TenantID) (int, error) {
	if tenant == eusaas.NilTenant {
		return 0, eusaas.E(eusaas.InvalidArgument, "audit: the platform's own personal values are erased per subject")
	}
	return s.ErasePersonalBefore(ctx, tenant, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
}

// EraseSubject deletes the subject's key and every personal value of the subject in tenant
// (on the tenant's chain and on platform-chain entries about the tenant; operators are
// erased with tenant zero). The chain still verifies afterwards: it holds only commitments,
// and without the key they reveal nothing. It returns the number of values deleted and is
// idempotent.
func (s *Service) EraseSubject(ctx context.Context, tenant eusaas.TenantID, subject string) (int, error) {
	if subject == "" {
		var v eusaas.Violations
		v.Add("data_subject_id", "must not be empty")
		return 0, v.Err()
	}
	var n int
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		// The subject's e-mail recorded under other subjects (an invitation to them, the
		// tenant's admin_email) first: it is found through the subject's own values, which
		// the steps below delete.
		// A per-entry subject ("entry:<id>", see subjectOf) is no person: erasing it erases
		// that entry's values only.
		if le, ok := s.store.(LinkedEraser); ok && !strings.HasPrefix(subject, entrySubjectPrefix) {
			m, err := le.DeleteLinkedPersonal(ctx, tenant, subject, FieldEmail)
			if err != nil {
				return err
			}
			n += m
		}
		// Key first: once it is gone the commitments can no longer be linked to any value,
		// even if deleting the values fails half way and is retried.
		if _, err := s.keys.DeleteSubjectKey(ctx, tenant, subject); err != nil {
			return err
		}
		m, err := s.store.DeletePersonal(ctx, tenant, subject)
		n += m
		return err
	})
	return n, err
}

func signHead(s *Service, chain eusaas.TenantID, h Head) []byte {
	return ed25519.Sign(s.opts.Signer, HeadMessage(chain, h))
}
