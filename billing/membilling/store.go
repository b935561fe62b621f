package membilling

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/memtx"
)

// UsageStore implements billing.UsageStore in memory.
type UsageStore struct {
	mu      sync.Mutex
	tenants map[eusaas.TenantID]*billingTenantUsage
}

var _ billing.UsageStore = (*UsageStore)(nil)

type billingEventRow struct {
	ev       billing.UsageEvent
	received time.Time
}

type billingBucketKey struct {
	day      time.Time
	resource billing.ResourceType
}

type billingTenantUsage struct {
	events  map[string]*billingEventRow
	buckets map[billingBucketKey]billing.Bucket
	months  map[billingBucketKey]decimal.Decimal // day = month start: running quantity
	first   time.Time
	// attrs are the attribute aggregates; values the distinct values kept per key.
	attrs  map[billingAttrKey]decimal.Decimal
	values map[string]map[string]bool
	// The state of the non-additive metrics, by month: LATEST's latest timestamp and
	// UNIQUE_COUNT's values seen (as billing.ValueDigest).
	latest   map[billingBucketKey]time.Time
	distinct map[billingDistinctKey]bool
}

type billingAttrKey struct {
	day        time.Time
	resource   billing.ResourceType
	key, value string
}

type billingDistinctKey struct {
	month    time.Time
	resource billing.ResourceType
	digest   string
}

// NewUsageStore returns an empty store.
func NewUsageStore() *UsageStore {
	return &UsageStore{tenants: map[eusaas.TenantID]*billingTenantUsage{}}
}

func (s *UsageStore) tenant(id eusaas.TenantID) *billingTenantUsage {
	t := s.tenants[id]
	if t == nil {
		t = &billingTenantUsage{events: map[string]*billingEventRow{}, buckets: map[billingBucketKey]billing.Bucket{}, months: map[billingBucketKey]decimal.Decimal{},
			attrs: map[billingAttrKey]decimal.Decimal{}, values: map[string]map[string]bool{},
			latest: map[billingBucketKey]time.Time{}, distinct: map[billingDistinctKey]bool{}}
		s.tenants[id] = t
	}
	return t
}

var _ billing.AggregatingStore = (*UsageStore)(nil)

// Record implements billing.UsageStore.
func (s *UsageStore) Record(ctx context.Context, tenant eusaas.TenantID, events []billing.UsageEvent, rate billing.Rater) ([]bool, error) {
	return s.RecordAggregated(ctx, tenant, events, nil, rate)
}

// RecordAggregated implements billing.AggregatingStore.
func (s *UsageStore) RecordAggregated(ctx context.Context, tenant eusaas.TenantID, events []billing.UsageEvent, aggs map[billing.ResourceType]billing.Aggregate, rate billing.Rater) ([]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	t := s.tenant(tenant)
	now := time.Now().UTC()
	inserted := make([]bool, len(events))
	var newIDs []string
	groups := map[billingBucketKey]decimal.Decimal{}
	type attrDelta struct {
		k billingAttrKey
		q decimal.Decimal
	}
	var attrDeltas []attrDelta
	var newValues [][2]string
	// The aggregate of each touched month as this batch moves it (the month's running
	// quantity is the sum of the deltas so far, so it is the aggregate).
	agg := map[billingBucketKey]decimal.Decimal{}
	prevLatest := map[billingBucketKey]time.Time{}
	var newDistinct []billingDistinctKey
	for i, e := range events {
		if _, dup := t.events[e.ID]; dup {
			continue
		}
		e.Attributes = billingCopyAttrs(e.Attributes)
		t.events[e.ID] = &billingEventRow{ev: e, received: now}
		newIDs = append(newIDs, e.ID)
		inserted[i] = true
		k := billingBucketKey{billing.Day(e.Timestamp), e.ResourceType}
		q := e.Quantity
		if a, ok := aggs[e.ResourceType]; ok {
			mk := billingBucketKey{billing.MonthStart(e.Timestamp), e.ResourceType}
			cur, seen := agg[mk]
			if !seen {
				cur = t.months[mk]
			}
			switch a.Kind {
			case billing.AggMax:
				q = decimal.Max(decimal.Zero, e.Quantity.Sub(cur))
			case billing.AggLatest:
				last, ok := t.latest[mk]
				q = decimal.Zero
				if !ok || !e.Timestamp.Before(last) {
					if _, saved := prevLatest[mk]; !saved {
						prevLatest[mk] = last
					}
					t.latest[mk] = e.Timestamp
					q = e.Quantity.Sub(cur)
				}
			case billing.AggUniqueCount:
				dk := billingDistinctKey{mk.day, mk.resource, billing.ValueDigest(e.Attributes[a.Field])}
				q = decimal.Zero
				if !t.distinct[dk] {
					t.distinct[dk] = true
					newDistinct = append(newDistinct, dk)
					q = decimal.NewFromInt(1)
				}
			}
			agg[mk] = cur.Add(q)
		}
		groups[k] = groups[k].Add(q)
		// Attribute aggregates sum quantities: additive metrics only (a MAX, LATEST or
		// UNIQUE_COUNT event's quantity is not a share of its day).
		if _, nonAdditive := aggs[e.ResourceType]; nonAdditive {
			continue
		}
		for ak, av := range e.Attributes {
			if !t.values[ak][av] {
				if len(t.values[ak]) >= billing.MaxAttributeValues {
					av = billing.AttributeOther
				} else {
					if t.values[ak] == nil {
						t.values[ak] = map[string]bool{}
					}
					t.values[ak][av] = true
					newValues = append(newValues, [2]string{ak, av})
				}
			}
			key := billingAttrKey{k.day, k.resource, ak, av}
			t.attrs[key] = t.attrs[key].Add(e.Quantity)
			attrDeltas = append(attrDeltas, attrDelta{key, e.Quantity})
		}
	}
	keys := make([]billingBucketKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if !keys[i].day.Equal(keys[j].day) {
			return keys[i].day.Before(keys[j].day)
		}
		return keys[i].resource < keys[j].resource
	})
	type delta struct {
		k      billingBucketKey
		q, amt decimal.Decimal
	}
	deltas := make([]delta, 0, len(keys))
	prevFirst := t.first
	for _, k := range keys {
		q := groups[k]
		mk := billingBucketKey{billing.MonthStart(k.day), k.resource}
		amt := rate(k.resource, t.months[mk], q)
		t.months[mk] = t.months[mk].Add(q)
		b := t.buckets[k]
		b.Resource, b.Day = k.resource, k.day
		b.Quantity, b.Amount = b.Quantity.Add(q), b.Amount.Add(amt)
		t.buckets[k] = b
		deltas = append(deltas, delta{k, q, amt})
		if t.first.IsZero() || k.day.Before(t.first) {
			t.first = k.day
		}
	}
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, id := range newIDs {
			delete(t.events, id)
		}
		for mk, last := range prevLatest {
			if last.IsZero() {
				delete(t.latest, mk)
			} else {
				t.latest[mk] = last
			}
		}
		for _, dk := range newDistinct {
			delete(t.distinct, dk)
		}
		for _, d := range deltas {
			mk := billingBucketKey{billing.MonthStart(d.k.day), d.k.resource}
			t.months[mk] = t.months[mk].Sub(d.q)
			b := t.buckets[d.k]
			b.Quantity, b.Amount = b.Quantity.Sub(d.q), b.Amount.Sub(d.amt)
			if b.Quantity.IsZero() && b.Amount.IsZero() {
				delete(t.buckets, d.k)
			} else {
				t.buckets[d.k] = b
			}
		}
		t.first = prevFirst
		for _, d := range attrDeltas {
			if q := t.attrs[d.k].Sub(d.q); q.IsZero() {
				delete(t.attrs, d.k)
			} else {
				t.attrs[d.k] = q
			}
		}
		for _, v := range newValues {
			delete(t.values[v[0]], v[1])
		}
	})
	return inserted, nil
}

// AttributeUsage implements billing.UsageStore.
func (s *UsageStore) AttributeUsage(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]billing.AttributeUsage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[tenant]
	if t == nil {
		return nil, nil
	}
	var out []billing.AttributeUsage
	from, to = billing.Day(from), billing.Day(to)
	for k, q := range t.attrs {
		if !k.day.Before(from) && !k.day.After(to) {
			out = append(out, billing.AttributeUsage{Day: k.day, Resource: k.resource, Key: k.key, Value: k.value, Quantity: q})
		}
	}
	return out, nil
}

func billingCopyAttrs(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Buckets implements billing.UsageStore.
func (s *UsageStore) Buckets(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]billing.Bucket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[tenant]
	if t == nil {
		return nil, nil
	}
	var out []billing.Bucket
	from, to = billing.Day(from), billing.Day(to)
	for k, b := range t.buckets {
		if !k.day.Before(from) && !k.day.After(to) {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Day.Equal(out[j].Day) {
			return out[i].Day.Before(out[j].Day)
		}
		return out[i].Resource < out[j].Resource
	})
	return out, nil
}

// FirstDay implements billing.UsageStore.
func (s *UsageStore) FirstDay(ctx context.Context, tenant eusaas.TenantID) (time.Time, bool, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[tenant]
	if t == nil || t.first.IsZero() {
		return time.Time{}, false, nil
	}
	return t.first, true, nil
}

// PurgeDedup implements billing.UsageStore.
func (s *UsageStore) PurgeDedup(ctx context.Context, tenant eusaas.TenantID, cutoff time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	t := s.tenants[tenant]
	if t == nil {
		s.mu.Unlock()
		return 0, nil
	}
	removed := map[string]*billingEventRow{}
	for id, r := range t.events {
		if r.received.Before(cutoff) {
			removed[id] = r
			delete(t.events, id)
		}
	}
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for id, r := range removed {
			t.events[id] = r
		}
	})
	return len(removed), nil
}

// PseudonymizeAttributes implements billing.UsageStore.
func (s *UsageStore) PseudonymizeAttributes(ctx context.Context, tenant eusaas.TenantID, subject, pseudonym string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	t := s.tenants[tenant]
	if t == nil {
		s.mu.Unlock()
		return 0, nil
	}
	type change struct {
		r   *billingEventRow
		old map[string]string
	}
	var changes []change
	for _, r := range t.events {
		hit := false
		for _, v := range r.ev.Attributes {
			if v == subject {
				hit = true
				break
			}
		}
		if !hit {
			continue
		}
		old := r.ev.Attributes
		nw := billingCopyAttrs(old)
		for k, v := range nw {
			if v == subject {
				nw[k] = pseudonym
			}
		}
		r.ev.Attributes = nw
		changes = append(changes, change{r, old})
	}
	// The aggregates hold the value too: it moves to the pseudonym's row (merged with one
	// already there), and the key's value set follows.
	oldAttrs := map[billingAttrKey]decimal.Decimal{}
	for k, q := range t.attrs {
		if k.value != subject {
			continue
		}
		pk := k
		pk.value = pseudonym
		if _, seen := oldAttrs[pk]; !seen {
			oldAttrs[pk] = t.attrs[pk]
		}
		oldAttrs[k] = q
		t.attrs[pk] = t.attrs[pk].Add(q)
		delete(t.attrs, k)
	}
	var movedValues []string
	for key, vals := range t.values {
		if vals[subject] {
			delete(vals, subject)
			vals[pseudonym] = true
			movedValues = append(movedValues, key)
		}
	}
	// UNIQUE_COUNT's digests of the subject become the pseudonym's: the months' counts stay.
	from, to := billing.ValueDigest(subject), billing.ValueDigest(pseudonym)
	var moved []billingDistinctKey
	for dk := range t.distinct {
		if dk.digest == from {
			moved = append(moved, dk)
		}
	}
	for _, dk := range moved {
		delete(t.distinct, dk)
		t.distinct[billingDistinctKey{dk.month, dk.resource, to}] = true
	}
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range changes {
			c.r.ev.Attributes = c.old
		}
		for k, q := range oldAttrs {
			if q.IsZero() {
				delete(t.attrs, k)
			} else {
				t.attrs[k] = q
			}
		}
		for _, key := range movedValues {
			t.values[key][subject] = true
		}
		for _, dk := range moved {
			delete(t.distinct, billingDistinctKey{dk.month, dk.resource, to})
			t.distinct[dk] = true
		}
	})
	return len(changes) + len(moved), nil
}

// InvoiceStore implements billing.InvoiceStore in memory.
type InvoiceStore struct {
	mu       sync.Mutex
	invoices map[eusaas.TenantID]map[uuid.UUID]billing.Invoice
	counters map[int]int64
}

var _ billing.InvoiceStore = (*InvoiceStore)(nil)

// NewInvoiceStore returns an empty store.
func NewInvoiceStore() *InvoiceStore {
	return &InvoiceStore{invoices: map[eusaas.TenantID]map[uuid.UUID]billing.Invoice{}, counters: map[int]int64{}}
}

func billingCopyInvoice(inv billing.Invoice) billing.Invoice {
	inv.Lines = append([]billing.InvoiceLine(nil), inv.Lines...)
	inv.Breakdown = append([]billing.VATSubtotal(nil), inv.Breakdown...)
	docs := make([]billing.Document, len(inv.Documents))
	for i, d := range inv.Documents {
		d.Content = append([]byte(nil), d.Content...)
		docs[i] = d
	}
	if inv.Documents != nil {
		inv.Documents = docs
	}
	return inv
}

// Create implements billing.InvoiceStore.
func (s *InvoiceStore) Create(ctx context.Context, inv billing.Invoice) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	m := s.invoices[inv.TenantID]
	if m == nil {
		m = map[uuid.UUID]billing.Invoice{}
		s.invoices[inv.TenantID] = m
	}
	if _, ok := m[inv.ID]; ok {
		s.mu.Unlock()
		return eusaas.E(eusaas.AlreadyExists, "invoice id already exists")
	}
	for _, o := range m {
		if o.Status != billing.StatusVoid && o.PeriodStart.Equal(inv.PeriodStart) {
			s.mu.Unlock()
			return billing.ErrAlreadyInvoiced
		}
	}
	m[inv.ID] = billingCopyInvoice(inv)
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(m, inv.ID)
	})
	return nil
}

// Get implements billing.InvoiceStore.
func (s *InvoiceStore) Get(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (billing.Invoice, error) {
	if err := ctx.Err(); err != nil {
		return billing.Invoice{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices[tenant][id]
	if !ok {
		return billing.Invoice{}, billing.ErrInvoiceNotFound
	}
	return billingCopyInvoice(inv), nil
}

// List implements billing.InvoiceStore.
func (s *InvoiceStore) List(ctx context.Context, tenant eusaas.TenantID, f billing.InvoiceFilter, page eusaas.Page) (eusaas.List[billing.Invoice], error) {
	if err := ctx.Err(); err != nil {
		return eusaas.List[billing.Invoice]{}, err
	}
	page, err := page.Normalize()
	if err != nil {
		return eusaas.List[billing.Invoice]{}, err
	}
	s.mu.Lock()
	var all []billing.Invoice
	for _, inv := range s.invoices[tenant] {
		if f.Status != "" && inv.Status != f.Status {
			continue
		}
		if !f.PeriodFrom.IsZero() && inv.PeriodStart.Before(f.PeriodFrom) {
			continue
		}
		all = append(all, billingCopyInvoice(inv))
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if !a.PeriodStart.Equal(b.PeriodStart) {
			return a.PeriodStart.After(b.PeriodStart)
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.After(b.CreatedAt)
		}
		return a.ID.String() > b.ID.String()
	})
	out := eusaas.List[billing.Invoice]{Total: len(all)}
	if off := page.Offset(); off < len(all) {
		end := min(off+page.Size, len(all))
		out.Items = all[off:end]
	}
	return out, nil
}

// Update implements billing.InvoiceStore.
func (s *InvoiceStore) Update(ctx context.Context, inv billing.Invoice, expect billing.InvoiceStatus) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	m := s.invoices[inv.TenantID]
	old, ok := m[inv.ID]
	if !ok {
		s.mu.Unlock()
		return billing.ErrInvoiceNotFound
	}
	if old.Status != expect {
		s.mu.Unlock()
		return billing.ErrStatusConflict
	}
	nw := billingCopyInvoice(inv)
	if old.Status != billing.StatusDraft {
		// Issued content is immutable: only the status and its dates move on.
		keep := old
		keep.Lines = old.Lines
		keep.Status, keep.PaidAt, keep.VoidedAt = inv.Status, inv.PaidAt, inv.VoidedAt
		nw = keep
	}
	nw.CreatedAt, nw.PeriodStart, nw.PeriodEnd = old.CreatedAt, old.PeriodStart, old.PeriodEnd
	m[inv.ID] = nw
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		m[inv.ID] = old
	})
	return nil
}

// NextNumber implements billing.InvoiceStore.
func (s *InvoiceStore) NextNumber(ctx context.Context, year int) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.counters[year]++
	n := s.counters[year]
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.counters[year]--
	})
	return n, nil
}

// PseudonymizeIssuer implements billing.InvoiceStore.
func (s *InvoiceStore) PseudonymizeIssuer(ctx context.Context, tenant eusaas.TenantID, subject, pseudonym string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	m := s.invoices[tenant]
	var changed []uuid.UUID
	for id, inv := range m {
		if inv.IssuedBy == subject && subject != "" {
			inv.IssuedBy = pseudonym
			m[id] = inv
			changed = append(changed, id)
		}
	}
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, id := range changed {
			inv := m[id]
			inv.IssuedBy = subject
			m[id] = inv
		}
	})
	return len(changed), nil
}

// PriceStore implements billing.PriceStore in memory.
type PriceStore struct {
	mu     sync.Mutex
	prices map[eusaas.TenantID]map[billing.ResourceType]billing.PriceModel
	tax    map[eusaas.TenantID]decimal.Decimal
}

var _ billing.PriceStore = (*PriceStore)(nil)

// NewPriceStore returns an empty store.
func NewPriceStore() *PriceStore {
	return &PriceStore{prices: map[eusaas.TenantID]map[billing.ResourceType]billing.PriceModel{}, tax: map[eusaas.TenantID]decimal.Decimal{}}
}

// Overrides implements billing.PriceStore.
func (s *PriceStore) Overrides(ctx context.Context, tenant eusaas.TenantID) (map[billing.ResourceType]billing.PriceModel, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[billing.ResourceType]billing.PriceModel{}
	for r, p := range s.prices[tenant] {
		p.Tiers = append([]billing.Tier(nil), p.Tiers...)
		out[r] = p
	}
	return out, nil
}

// SetOverride implements billing.PriceStore.
func (s *PriceStore) SetOverride(ctx context.Context, tenant eusaas.TenantID, r billing.ResourceType, p billing.PriceModel) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	m := s.prices[tenant]
	if m == nil {
		m = map[billing.ResourceType]billing.PriceModel{}
		s.prices[tenant] = m
	}
	old, had := m[r]
	p.Tiers = append([]billing.Tier(nil), p.Tiers...)
	m[r] = p
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if had {
			m[r] = old
		} else {
			delete(m, r)
		}
	})
	return nil
}

// DeleteOverride implements billing.PriceStore.
func (s *PriceStore) DeleteOverride(ctx context.Context, tenant eusaas.TenantID, r billing.ResourceType) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	m := s.prices[tenant]
	old, had := m[r]
	delete(m, r)
	s.mu.Unlock()
	if had {
		memtx.OnRollback(ctx, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			m[r] = old
		})
	}
	return nil
}

// TaxRate implements billing.PriceStore.
func (s *PriceStore) TaxRate(ctx context.Context, tenant eusaas.TenantID) (decimal.Decimal, error) {
	if err := ctx.Err(); err != nil {
		return decimal.Zero, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tax[tenant], nil
}

// SetTaxRate implements billing.PriceStore.
func (s *PriceStore) SetTaxRate(ctx context.Context, tenant eusaas.TenantID, rate decimal.Decimal) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	old, had := s.tax[tenant]
	s.tax[tenant] = rate
	s.mu.Unlock()
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if had {
			s.tax[tenant] = old
		} else {
			delete(s.tax, tenant)
		}
	})
	return nil
}
