package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

// BillingUsageStore implements billing.UsageStore on the tenant schemas.
type BillingUsageStore struct{ db *DB }

var _ billing.UsageStore = (*BillingUsageStore)(nil)

// NewBillingUsageStore returns the store.
func NewBillingUsageStore(db *DB) *BillingUsageStore { return &BillingUsageStore{db: db} }

// billingInsertEvents writes the dedup rows of a batch in one statement. The arrays hold
// each id once (its first occurrence in the batch), sorted by id in byte order
// (RecordAggregated), and WITH ORDINALITY keeps that order into the insert: concurrent
// batches take their unique-index locks in the same order (no deadlock between them), and
// Postgres does not sort the batch again under its collation. ON CONFLICT DO NOTHING skips
// ids seen before (waiting for a concurrent inserter of the same id to commit or roll back
// first). RETURNING names exactly the new rows.
const billingInsertEvents = `
INSERT INTO billing_usage_events (event_id, resource_type, quantity, occurred_at, attributes)
SELECT event_id, resource_type, quantity::numeric, occurred_at, attributes::jsonb
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
     WITH ORDINALITY AS s(event_id, resource_type, quantity, occurred_at, attributes, ord)
ORDER BY ord
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id`

// billingUpsertMonths adds the batch's new quantity to each month's running total and
// returns the totals after the addition. The row locks it takes are held to commit, so a
// concurrent batch for the same month waits and then rates on top of this one.
const billingUpsertMonths = `
INSERT INTO billing_usage_months AS m (month, resource_type, quantity)
SELECT month, resource_type, quantity::numeric
FROM unnest($1::date[], $2::text[], $3::text[]) AS s(month, resource_type, quantity)
ORDER BY month, resource_type
ON CONFLICT (month, resource_type) DO UPDATE SET quantity = m.quantity + excluded.quantity
RETURNING month, resource_type, quantity::text`

// billingUpsertBuckets adds the rated deltas of the newly recorded events to their buckets.
const billingUpsertBuckets = `
INSERT INTO billing_usage_buckets AS b (day, resource_type, quantity, amount)
SELECT day, resource_type, quantity::numeric, amount::numeric
FROM unnest($1::date[], $2::text[], $3::text[], $4::text[]) AS s(day, resource_type, quantity, amount)
ORDER BY day, resource_type
ON CONFLICT (day, resource_type) DO UPDATE
SET quantity = b.quantity + excluded.quantity, amount = b.amount + excluded.amount`

type billingKey struct {
	day      time.Time
	resource billing.ResourceType
}

// Record implements billing.UsageStore: three statements in one tenant transaction (dedup
// insert, month upsert, bucket upsert), each a single multi-row statement over arrays.
func (s *BillingUsageStore) Record(ctx context.Context, tenant eusaas.TenantID, events []billing.UsageEvent, rate billing.Rater) ([]bool, error) {
	return s.RecordAggregated(ctx, tenant, events, nil, rate)
}

var _ billing.AggregatingStore = (*BillingUsageStore)(nil)

// RecordAggregated implements billing.AggregatingStore: Record, with the events of the
// non-additive metrics in aggs turned into the change they make to their month's aggregate
// (aggregateDeltas) before they are added to buckets and months like any other.
func (s *BillingUsageStore) RecordAggregated(ctx context.Context, tenant eusaas.TenantID, events []billing.UsageEvent, aggs map[billing.ResourceType]billing.Aggregate, rate billing.Rater) ([]bool, error) {
	n := len(events)
	first := make(map[string]int, n)
	order := make([]int, 0, n) // the first occurrence of each id, in id order
	for i, e := range events {
		if _, ok := first[e.ID]; !ok {
			first[e.ID] = i
			order = append(order, i)
		}
	}
	sort.Slice(order, func(a, b int) bool { return events[order[a]].ID < events[order[b]].ID })
	ids := make([]string, len(order))
	res := make([]string, len(order))
	qty := make([]string, len(order))
	ts := make([]time.Time, len(order))
	attrs := make([]*string, len(order))
	for j, i := range order {
		e := events[i]
		ids[j], res[j], qty[j], ts[j] = e.ID, string(e.ResourceType), e.Quantity.String(), e.Timestamp.UTC()
		if len(e.Attributes) > 0 {
			b, err := json.Marshal(e.Attributes)
			if err != nil {
				return nil, err
			}
			a := string(b)
			attrs[j] = &a
		}
	}
	inserted := make([]bool, n)
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		clear(inserted)
		rows, err := tx.Query(ctx, billingInsertEvents, ids, res, qty, ts, attrs)
		if err != nil {
			return translate(err)
		}
		groups := map[billingKey]decimal.Decimal{}
		var id string
		var aggregated []int // new events of non-additive metrics, in batch order
		_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
			i := first[id]
			inserted[i] = true
			if _, ok := aggs[events[i].ResourceType]; ok {
				aggregated = append(aggregated, i)
				return nil
			}
			k := billingKey{billing.Day(events[i].Timestamp), events[i].ResourceType}
			groups[k] = groups[k].Add(events[i].Quantity)
			return nil
		})
		if err != nil {
			return translate(err)
		}
		if len(aggregated) > 0 {
			sort.Ints(aggregated)
			if err := aggregateDeltas(ctx, tx, events, aggregated, aggs, groups); err != nil {
				return err
			}
		}
		if err := recordAttributes(ctx, tx, events, inserted, aggs); err != nil {
			return err
		}
		if len(groups) == 0 {
			return nil
		}
		keys := make([]billingKey, 0, len(groups))
		months := map[billingKey]decimal.Decimal{}
		for k, q := range groups {
			keys = append(keys, k)
			mk := billingKey{billing.MonthStart(k.day), k.resource}
			months[mk] = months[mk].Add(q)
		}
		sort.Slice(keys, func(i, j int) bool {
			if !keys[i].day.Equal(keys[j].day) {
				return keys[i].day.Before(keys[j].day)
			}
			return keys[i].resource < keys[j].resource
		})
		var mDays []time.Time
		var mRes, mQty []string
		for mk, q := range months {
			mDays, mRes, mQty = append(mDays, mk.day), append(mRes, string(mk.resource)), append(mQty, q.String())
		}
		rows, err = tx.Query(ctx, billingUpsertMonths, mDays, mRes, mQty)
		if err != nil {
			return translate(err)
		}
		running := map[billingKey]decimal.Decimal{} // month quantity before this batch
		var month time.Time
		var r, total string
		_, err = pgx.ForEachRow(rows, []any{&month, &r, &total}, func() error {
			after, err := decimal.NewFromString(total)
			if err != nil {
				return err
			}
			mk := billingKey{month.UTC(), billing.ResourceType(r)}
			running[mk] = after.Sub(months[mk])
			return nil
		})
		if err != nil {
			return translate(err)
		}
		bDays := make([]time.Time, len(keys))
		bRes := make([]string, len(keys))
		bQty := make([]string, len(keys))
		bAmt := make([]string, len(keys))
		for i, k := range keys {
			mk := billingKey{billing.MonthStart(k.day), k.resource}
			q := groups[k]
			amt := rate(k.resource, running[mk], q)
			running[mk] = running[mk].Add(q)
			bDays[i], bRes[i], bQty[i], bAmt[i] = k.day, string(k.resource), q.String(), amt.String()
		}
		_, err = tx.Exec(ctx, billingUpsertBuckets, bDays, bRes, bQty, bAmt)
		return translate(err)
	})
	if err != nil {
		return nil, err
	}
	return inserted, nil
}

// billingLockMonths locks the month rows of the non-additive metrics a batch touches (creating
// them at 0) and returns their aggregate so far. The locks are taken in (month, resource)
// order, the order billingUpsertMonths locks in, and held to commit: a concurrent batch of
// the same metric waits, then computes its changes on top of this one's.
const billingLockMonths = `
INSERT INTO billing_usage_months AS m (month, resource_type, quantity)
SELECT month, resource_type, 0
FROM unnest($1::date[], $2::text[]) AS s(month, resource_type)
ORDER BY month, resource_type
ON CONFLICT (month, resource_type) DO UPDATE SET quantity = m.quantity
RETURNING month, resource_type, quantity::text`

// aggregateDeltas adds to groups, per (day, metric), the change each new event of a
// non-additive metric makes to its month's aggregate: MAX the rise of the maximum, LATEST
// the step to its value when it is the latest event so far, UNIQUE_COUNT one per value new
// in the month. idx are the events' positions in batch order.
func aggregateDeltas(ctx context.Context, tx pgx.Tx, events []billing.UsageEvent, idx []int, aggs map[billing.ResourceType]billing.Aggregate, groups map[billingKey]decimal.Decimal) error {
	// Every month the batch touches is locked first, additive ones included, in one
	// statement and one order, so this batch and a concurrent one never lock in opposite
	// orders (billingUpsertMonths then finds the rows already held).
	touched := map[billingKey]bool{}
	for k := range groups {
		touched[billingKey{billing.MonthStart(k.day), k.resource}] = true
	}
	distinct := map[billingKey][]string{}
	for _, i := range idx {
		e := events[i]
		mk := billingKey{billing.MonthStart(e.Timestamp), e.ResourceType}
		touched[mk] = true
		if a := aggs[e.ResourceType]; a.Kind == billing.AggUniqueCount {
			distinct[mk] = append(distinct[mk], billing.ValueDigest(e.Attributes[a.Field]))
		}
	}
	var lm []time.Time
	var lr []string
	for mk := range touched {
		lm, lr = append(lm, mk.day), append(lr, string(mk.resource))
	}
	rows, err := tx.Query(ctx, billingLockMonths, lm, lr)
	if err != nil {
		return translate(err)
	}
	cur := map[billingKey]decimal.Decimal{}
	var month time.Time
	var r, q string
	if _, err := pgx.ForEachRow(rows, []any{&month, &r, &q}, func() error {
		v, err := decimal.NewFromString(q)
		cur[billingKey{month.UTC(), billing.ResourceType(r)}] = v
		return err
	}); err != nil {
		return translate(err)
	}
	// The months' state: LATEST's latest timestamps, UNIQUE_COUNT's values new to the month
	// (inserted here; the digests already stored are the values seen before).
	latest := map[billingKey]time.Time{}
	latestRows, err := tx.Query(ctx, `SELECT month, resource_type, occurred_at FROM billing_usage_latest
		WHERE (month, resource_type) IN (SELECT * FROM unnest($1::date[], $2::text[]))`, lm, lr)
	if err != nil {
		return translate(err)
	}
	var at time.Time
	if _, err := pgx.ForEachRow(latestRows, []any{&month, &r, &at}, func() error {
		latest[billingKey{month.UTC(), billing.ResourceType(r)}] = at.UTC()
		return nil
	}); err != nil {
		return translate(err)
	}
	fresh := map[billingKey]map[string]bool{}
	if len(distinct) > 0 {
		var dm []time.Time
		var dr, dv []string
		for mk, vs := range distinct {
			for _, v := range vs {
				dm, dr, dv = append(dm, mk.day), append(dr, string(mk.resource)), append(dv, v)
			}
		}
		rows, err := tx.Query(ctx, `INSERT INTO billing_usage_distinct (month, resource_type, value_sha256)
			SELECT DISTINCT month, resource_type, value FROM unnest($1::date[], $2::text[], $3::text[]) AS s(month, resource_type, value)
			ORDER BY 1, 2, 3
			ON CONFLICT DO NOTHING RETURNING month, resource_type, value_sha256`, dm, dr, dv)
		if err != nil {
			return translate(err)
		}
		var v string
		if _, err := pgx.ForEachRow(rows, []any{&month, &r, &v}, func() error {
			mk := billingKey{month.UTC(), billing.ResourceType(r)}
			if fresh[mk] == nil {
				fresh[mk] = map[string]bool{}
			}
			fresh[mk][v] = true
			return nil
		}); err != nil {
			return translate(err)
		}
	}
	newLatest := map[billingKey]time.Time{}
	for _, i := range idx {
		e := events[i]
		a := aggs[e.ResourceType]
		mk := billingKey{billing.MonthStart(e.Timestamp), e.ResourceType}
		d := decimal.Zero
		switch a.Kind {
		case billing.AggMax:
			d = decimal.Max(decimal.Zero, e.Quantity.Sub(cur[mk]))
		case billing.AggLatest:
			last, ok := latest[mk]
			if !ok || !e.Timestamp.Before(last) {
				latest[mk], newLatest[mk] = e.Timestamp, e.Timestamp
				d = e.Quantity.Sub(cur[mk])
			}
		case billing.AggUniqueCount:
			if v := billing.ValueDigest(e.Attributes[a.Field]); fresh[mk][v] {
				delete(fresh[mk], v) // the first occurrence in the batch counts
				d = decimal.NewFromInt(1)
			}
		}
		cur[mk] = cur[mk].Add(d)
		k := billingKey{billing.Day(e.Timestamp), e.ResourceType}
		groups[k] = groups[k].Add(d)
	}
	if len(newLatest) > 0 {
		var um []time.Time
		var ur []string
		var ua []time.Time
		for mk, t := range newLatest {
			um, ur, ua = append(um, mk.day), append(ur, string(mk.resource)), append(ua, t)
		}
		_, err := tx.Exec(ctx, `INSERT INTO billing_usage_latest AS l (month, resource_type, occurred_at)
			SELECT * FROM unnest($1::date[], $2::text[], $3::timestamptz[]) ORDER BY 1, 2
			ON CONFLICT (month, resource_type) DO UPDATE SET occurred_at = excluded.occurred_at`, um, ur, ua)
		if err != nil {
			return translate(err)
		}
	}
	return nil
}

type billingAttrKey struct {
	day        time.Time
	key, value string
}

// recordAttributes adds the newly recorded events' quantities to their attribute
// aggregates (billing.UsageStore.AttributeUsage). A batch without attributes costs nothing
// here. New values of a key are admitted while the key has fewer than
// billing.MaxAttributeValues; the rest are summed under billing.AttributeOther.
//
// Most batches carry only values admitted before, so the first statement upserts the rows
// of known values and answers which values were unknown: one statement per batch in the
// steady state. Only when some were unknown does a second round admit them and upsert
// their rows (under their own value or AttributeOther).
func recordAttributes(ctx context.Context, tx pgx.Tx, events []billing.UsageEvent, inserted []bool, aggs map[billing.ResourceType]billing.Aggregate) error {
	// One row per (day, key, value) with the quantity of each resource in a jsonb object
	// (tenant migration 0162): the rows a batch upserts do not multiply by its resources.
	sums := map[billingAttrKey]map[billing.ResourceType]decimal.Decimal{}
	for i, e := range events {
		if _, agg := aggs[e.ResourceType]; !inserted[i] || agg {
			// Attribute aggregates sum quantities, which only means something for
			// additive metrics: a MAX, LATEST or UNIQUE_COUNT event's quantity is not a
			// share of its day.
			continue
		}
		for k, v := range e.Attributes {
			addAttributeQuantity(sums, billingAttrKey{billing.Day(e.Timestamp), k, v}, e.ResourceType, e.Quantity)
		}
	}
	if len(sums) == 0 {
		return nil
	}
	days, ks, vs, qs := attributeRows(sums)
	rows, err := tx.Query(ctx, `WITH b AS (
    SELECT d, k, v, q, ord, EXISTS (SELECT 1 FROM billing_usage_attribute_values x WHERE x.attr_key = s.k AND x.attr_value = s.v) AS known
    FROM unnest($1::date[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS s(d, k, v, q, ord)),
up AS (
    INSERT INTO billing_usage_attributes AS a (day, attr_key, attr_value, quantities)
    SELECT d, k, v, q::jsonb FROM b WHERE known ORDER BY ord
    ON CONFLICT (day, attr_key, attr_value) DO UPDATE SET quantities = `+billingMergeQuantities+`)
SELECT DISTINCT k, v FROM b WHERE NOT known`, days, ks, vs, qs)
	if err != nil {
		return translate(err)
	}
	unknown := map[string][]string{} // by key
	isUnknown := map[[2]string]bool{}
	var k, v string
	if _, err := pgx.ForEachRow(rows, []any{&k, &v}, func() error {
		unknown[k] = append(unknown[k], v)
		isUnknown[[2]string{k, v}] = true
		return nil
	}); err != nil {
		return translate(err)
	}
	if len(unknown) == 0 {
		return nil
	}
	admitted, err := admitAttributeValues(ctx, tx, unknown)
	if err != nil {
		return err
	}
	rest := map[billingAttrKey]map[billing.ResourceType]decimal.Decimal{}
	for key, byRes := range sums {
		if !isUnknown[[2]string{key.key, key.value}] {
			continue // upserted above
		}
		if !admitted[[2]string{key.key, key.value}] {
			key.value = billing.AttributeOther
		}
		for r, q := range byRes {
			addAttributeQuantity(rest, key, r, q)
		}
	}
	days, ks, vs, qs = attributeRows(rest)
	_, err = tx.Exec(ctx, `INSERT INTO billing_usage_attributes AS a (day, attr_key, attr_value, quantities)
		SELECT d, k, v, q::jsonb FROM unnest($1::date[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS s(d, k, v, q, ord)
		ORDER BY ord
		ON CONFLICT (day, attr_key, attr_value) DO UPDATE SET quantities = `+billingMergeQuantities,
		days, ks, vs, qs)
	return translate(err)
}

// admitAttributeValues records the values of unknown (by key) that still fit under the key's
// billing.MaxAttributeValues and returns them; the others are aggregated under
// billing.AttributeOther. Which values fit does not depend on map order (sorted). A value a
// concurrent batch admitted first counts as admitted (ON CONFLICT DO NOTHING waits for it).
func admitAttributeValues(ctx context.Context, tx pgx.Tx, unknown map[string][]string) (map[[2]string]bool, error) {
	keys := make([]string, 0, len(unknown))
	for k := range unknown {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	counts := map[string]int{}
	rows, err := tx.Query(ctx, `SELECT attr_key, count(*) FROM billing_usage_attribute_values WHERE attr_key = ANY($1) GROUP BY attr_key`, keys)
	if err != nil {
		return nil, translate(err)
	}
	var k string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error { counts[k] = n; return nil }); err != nil {
		return nil, translate(err)
	}
	admitted := map[[2]string]bool{}
	var ak, av []string
	for _, k := range keys {
		vals := slices.Clone(unknown[k])
		sort.Strings(vals)
		for _, v := range vals {
			if counts[k] >= billing.MaxAttributeValues {
				break
			}
			counts[k]++
			admitted[[2]string{k, v}] = true
			ak, av = append(ak, k), append(av, v)
		}
	}
	if len(ak) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO billing_usage_attribute_values (attr_key, attr_value)
			SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, ak, av); err != nil {
			return nil, translate(err)
		}
	}
	return admitted, nil
}

func addAttributeQuantity(sums map[billingAttrKey]map[billing.ResourceType]decimal.Decimal, key billingAttrKey, r billing.ResourceType, q decimal.Decimal) {
	if sums[key] == nil {
		sums[key] = map[billing.ResourceType]decimal.Decimal{}
	}
	sums[key][r] = sums[key][r].Add(q)
}

// attributeRows are the upsert's arrays, in one order for every batch (day, key, value), so
// concurrent upserts of the same rows cannot deadlock.
func attributeRows(sums map[billingAttrKey]map[billing.ResourceType]decimal.Decimal) (days []time.Time, ks, vs, qs []string) {
	keys := make([]billingAttrKey, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		switch {
		case !a.day.Equal(b.day):
			return a.day.Before(b.day)
		case a.key != b.key:
			return a.key < b.key
		}
		return a.value < b.value
	})
	days = make([]time.Time, len(keys))
	ks, vs, qs = make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		days[i], ks[i], vs[i], qs[i] = k.day, k.key, k.value, attributeQuantitiesJSON(sums[k])
	}
	return days, ks, vs, qs
}

// billingMergeQuantities is the jsonb object {resource: quantity} of an upserted attribute
// row's existing quantities plus the incoming ones, resource by resource (numeric sums,
// exact): the incoming resources' sums overwrite their entries, the others stay. It is an
// ON CONFLICT DO UPDATE expression over the row a and the EXCLUDED one; iterating only the
// incoming object measured cheaper than regrouping both.
const billingMergeQuantities = `a.quantities || (
    SELECT jsonb_object_agg(e.r, coalesce((a.quantities->>e.r)::numeric, 0) + e.q::numeric)
    FROM jsonb_each_text(EXCLUDED.quantities) AS e(r, q))`

// attributeQuantitiesJSON is the jsonb text of one row's quantities, numbers written as the
// decimals' exact text.
func attributeQuantitiesJSON(q map[billing.ResourceType]decimal.Decimal) string {
	res := make([]string, 0, len(q))
	for r := range q {
		res = append(res, string(r))
	}
	sort.Strings(res)
	b := []byte{'{'}
	for i, r := range res {
		if i > 0 {
			b = append(b, ',')
		}
		name, _ := json.Marshal(r) // a string always marshals
		b = append(append(append(b, name...), ':'), q[billing.ResourceType(r)].String()...)
	}
	return string(append(b, '}'))
}

// AttributeUsage implements billing.UsageStore.
func (s *BillingUsageStore) AttributeUsage(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]billing.AttributeUsage, error) {
	var out []billing.AttributeUsage
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT day, e.r, attr_key, attr_value, e.q FROM billing_usage_attributes, jsonb_each_text(quantities) AS e(r, q)
			WHERE day BETWEEN $1 AND $2`, billing.Day(from), billing.Day(to))
		if err != nil {
			return translate(err)
		}
		var day time.Time
		var r, k, v, q string
		_, err = pgx.ForEachRow(rows, []any{&day, &r, &k, &v, &q}, func() error {
			qty, err := decimal.NewFromString(q)
			if err != nil {
				return err
			}
			out = append(out, billing.AttributeUsage{Day: day.UTC(), Resource: billing.ResourceType(r), Key: k, Value: v, Quantity: qty})
			return nil
		})
		return translate(err)
	})
	return out, err
}

// Buckets implements billing.UsageStore.
func (s *BillingUsageStore) Buckets(ctx context.Context, tenant eusaas.TenantID, from, to time.Time) ([]billing.Bucket, error) {
	var out []billing.Bucket
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT day, resource_type, quantity::text, amount::text FROM billing_usage_buckets
			WHERE day BETWEEN $1 AND $2 ORDER BY day, resource_type`, billing.Day(from), billing.Day(to))
		if err != nil {
			return translate(err)
		}
		var day time.Time
		var r, q, a string
		_, err = pgx.ForEachRow(rows, []any{&day, &r, &q, &a}, func() error {
			b := billing.Bucket{Day: day.UTC(), Resource: billing.ResourceType(r)}
			var err error
			if b.Quantity, err = decimal.NewFromString(q); err != nil {
				return err
			}
			if b.Amount, err = decimal.NewFromString(a); err != nil {
				return err
			}
			out = append(out, b)
			return nil
		})
		return translate(err)
	})
	return out, err
}

// FirstDay implements billing.UsageStore.
func (s *BillingUsageStore) FirstDay(ctx context.Context, tenant eusaas.TenantID) (time.Time, bool, error) {
	var day *time.Time
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		return translate(tx.QueryRow(ctx, `SELECT min(day) FROM billing_usage_buckets`).Scan(&day))
	})
	if err != nil || day == nil {
		return time.Time{}, false, err
	}
	return day.UTC(), true, nil
}

// PurgeDedup implements billing.UsageStore.
func (s *BillingUsageStore) PurgeDedup(ctx context.Context, tenant eusaas.TenantID, cutoff time.Time) (int, error) {
	var n int64
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM billing_usage_events WHERE received_at < $1`, cutoff)
		n = tag.RowsAffected()
		return translate(err)
	})
	return int(n), err
}

// PseudonymizeAttributes implements billing.UsageStore.
func (s *BillingUsageStore) PseudonymizeAttributes(ctx context.Context, tenant eusaas.TenantID, subject, pseudonym string) (int, error) {
	var n int64
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
UPDATE billing_usage_events SET attributes = (
    SELECT jsonb_object_agg(k, CASE WHEN v = to_jsonb($1::text) THEN to_jsonb($2::text) ELSE v END)
    FROM jsonb_each(attributes) AS e(k, v))
WHERE attributes IS NOT NULL
  AND EXISTS (SELECT 1 FROM jsonb_each_text(attributes) AS e(k, v) WHERE e.v = $1)`, subject, pseudonym)
		if err != nil {
			return translate(err)
		}
		n = tag.RowsAffected()
		// UNIQUE_COUNT's digests of the subject become the pseudonym's (a month where both
		// are present keeps one), so the months' counts stay what was billed.
		from, to := billing.ValueDigest(subject), billing.ValueDigest(pseudonym)
		tag, err = tx.Exec(ctx, `WITH moved AS (DELETE FROM billing_usage_distinct WHERE value_sha256 = $1 RETURNING month, resource_type)
			INSERT INTO billing_usage_distinct (month, resource_type, value_sha256) SELECT month, resource_type, $2 FROM moved
			ON CONFLICT DO NOTHING`, from, to)
		if err != nil {
			return translate(err)
		}
		n += tag.RowsAffected()
		// The attribute aggregates: the subject's rows are merged into the pseudonym's.
		if _, err := tx.Exec(ctx, `WITH moved AS (
    DELETE FROM billing_usage_attributes WHERE attr_value = $1
    RETURNING day, attr_key, quantities)
INSERT INTO billing_usage_attributes AS a (day, attr_key, attr_value, quantities)
SELECT day, attr_key, $2, quantities FROM moved
ON CONFLICT (day, attr_key, attr_value) DO UPDATE SET quantities = `+billingMergeQuantities, subject, pseudonym); err != nil {
			return translate(err)
		}
		_, err = tx.Exec(ctx, `WITH moved AS (
    DELETE FROM billing_usage_attribute_values WHERE attr_value = $1 RETURNING attr_key)
INSERT INTO billing_usage_attribute_values (attr_key, attr_value) SELECT attr_key, $2 FROM moved ON CONFLICT DO NOTHING`, subject, pseudonym)
		return translate(err)
	})
	return int(n), err
}

// SchemaBytes is the on-disk size of the tenant's schema: the sum of pg_total_relation_size
// (heap, indexes, TOAST) over its tables. The storage meter bills it as GB-days.
//
// With Citus a distributed table's data lives on the workers and the coordinator holds an
// empty shell (issue 20 measured 286,720 bytes there against 466,944 on the worker), so
// tables known to Citus (pg_dist_partition) are measured with citus_total_relation_size;
// tables of a schema not yet distributed are still local and keep pg_total_relation_size.
func (s *BillingUsageStore) SchemaBytes(ctx context.Context, tenant eusaas.TenantID) (int64, error) {
	q := s.db.q(ctx)
	citus, err := citusInstalled(ctx, q)
	if err != nil {
		return 0, err
	}
	size := "pg_total_relation_size(c.oid)"
	if citus {
		size = `CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = c.oid)
			THEN citus_total_relation_size(c.oid) ELSE pg_total_relation_size(c.oid) END`
	}
	var n int64
	err = q.QueryRow(ctx, `
SELECT coalesce(sum(`+size+`), 0)::bigint
FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
WHERE ns.nspname = $1 AND c.relkind IN ('r', 'm')`, tenant.SchemaName()).Scan(&n)
	return n, translate(err)
}

// BillingInvoiceStore implements billing.InvoiceStore.
type BillingInvoiceStore struct{ db *DB }

var _ billing.InvoiceStore = (*BillingInvoiceStore)(nil)

// NewBillingInvoiceStore returns the store.
func NewBillingInvoiceStore(db *DB) *BillingInvoiceStore { return &BillingInvoiceStore{db: db} }

const billingInvoiceCols = `id, coalesce(number, ''), status, period_start, period_end, currency, subtotal::text,
	tax_rate::text, tax_amount::text, total_amount::text, rounding_rule, created_at, issued_at, due_date,
	paid_at, voided_at, issued_by, content`

func billingScanInvoice(row pgx.Row, tenant eusaas.TenantID) (billing.Invoice, error) {
	var inv billing.Invoice
	var status string
	var sub, rate, tax, total string
	var content []byte
	err := row.Scan(&inv.ID, &inv.Number, &status, &inv.PeriodStart, &inv.PeriodEnd, &inv.Currency, &sub, &rate, &tax, &total,
		&inv.RoundingRule, &inv.CreatedAt, &inv.IssuedAt, &inv.DueDate, &inv.PaidAt, &inv.VoidedAt, &inv.IssuedBy, &content)
	if err != nil {
		return inv, err
	}
	if err := billingApplyContent(&inv, content); err != nil {
		return inv, err
	}
	inv.TenantID, inv.Status = tenant, billing.InvoiceStatus(status)
	inv.PeriodStart, inv.PeriodEnd, inv.CreatedAt = inv.PeriodStart.UTC(), inv.PeriodEnd.UTC(), inv.CreatedAt.UTC()
	for _, p := range []**time.Time{&inv.IssuedAt, &inv.DueDate, &inv.PaidAt, &inv.VoidedAt} {
		if *p != nil {
			u := (**p).UTC()
			*p = &u
		}
	}
	for _, f := range []struct {
		dst *decimal.Decimal
		src string
	}{{&inv.Subtotal, sub}, {&inv.TaxRate, rate}, {&inv.TaxAmount, tax}, {&inv.Total, total}} {
		if *f.dst, err = decimal.NewFromString(f.src); err != nil {
			return inv, err
		}
	}
	return inv, nil
}

// billingLoadLines fills the lines of invs (one query for all of them).
func billingLoadLines(ctx context.Context, tx pgx.Tx, invs []billing.Invoice) error {
	if len(invs) == 0 {
		return nil
	}
	idx := make(map[uuid.UUID]int, len(invs))
	ids := make([]uuid.UUID, len(invs))
	for i, inv := range invs {
		idx[inv.ID], ids[i] = i, inv.ID
	}
	rows, err := tx.Query(ctx, `SELECT invoice_id, resource_type, description, unit, quantity::text, amount::text, usage_month, adjustment
		FROM billing_invoice_lines WHERE invoice_id = ANY($1) ORDER BY invoice_id, line_no`, ids)
	if err != nil {
		return err
	}
	var id uuid.UUID
	var l billing.InvoiceLine
	var r, q, a string
	_, err = pgx.ForEachRow(rows, []any{&id, &r, &l.Description, &l.Unit, &q, &a, &l.UsageMonth, &l.Adjustment}, func() error {
		line := l
		line.Resource, line.UsageMonth = billing.ResourceType(r), l.UsageMonth.UTC()
		var err error
		if line.Quantity, err = decimal.NewFromString(q); err != nil {
			return err
		}
		if line.Amount, err = decimal.NewFromString(a); err != nil {
			return err
		}
		i := idx[id]
		invs[i].Lines = append(invs[i].Lines, line)
		return nil
	})
	if err != nil {
		return err
	}
	return billingLoadLineVAT(ctx, tx, invs, idx, ids)
}

func billingInsertLines(ctx context.Context, tx pgx.Tx, inv billing.Invoice) error {
	if len(inv.Lines) == 0 {
		return nil
	}
	n := len(inv.Lines)
	nos := make([]int32, n)
	res, desc, unit, qty, amt := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	months := make([]time.Time, n)
	adj := make([]bool, n)
	for i, l := range inv.Lines {
		nos[i], res[i], desc[i], unit[i], qty[i], amt[i], months[i], adj[i] =
			int32(i+1), string(l.Resource), l.Description, l.Unit, l.Quantity.String(), l.Amount.String(), l.UsageMonth, l.Adjustment
	}
	_, err := tx.Exec(ctx, `INSERT INTO billing_invoice_lines (invoice_id, line_no, resource_type, description, unit, quantity, amount, usage_month, adjustment)
		SELECT $1, no, r, d, u, q::numeric, a::numeric, m, adj
		FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::date[], $9::bool[]) AS s(no, r, d, u, q, a, m, adj)`,
		inv.ID, nos, res, desc, unit, qty, amt, months, adj)
	return err
}

// Create implements billing.InvoiceStore.
func (s *BillingInvoiceStore) Create(ctx context.Context, inv billing.Invoice) error {
	return s.db.InTenantTx(ctx, inv.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		var number *string
		if inv.Number != "" {
			number = &inv.Number
		}
		_, err := tx.Exec(ctx, `INSERT INTO billing_invoices (id, number, status, period_start, period_end, currency, subtotal, tax_rate,
			tax_amount, total_amount, rounding_rule, created_at, issued_at, due_date, paid_at, voided_at, issued_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8::numeric, $9::numeric, $10::numeric, $11, $12, $13, $14, $15, $16, $17)`,
			inv.ID, number, string(inv.Status), inv.PeriodStart, inv.PeriodEnd, inv.Currency, inv.Subtotal.String(), inv.TaxRate.String(),
			inv.TaxAmount.String(), inv.Total.String(), inv.RoundingRule, inv.CreatedAt, inv.IssuedAt, inv.DueDate, inv.PaidAt, inv.VoidedAt, inv.IssuedBy)
		if billingIsUniqueViolation(err) {
			return billing.ErrAlreadyInvoiced.Wrap(err)
		}
		if err != nil {
			return translate(err)
		}
		return translate(billingInsertLines(ctx, tx, inv))
	})
}

func billingIsUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}

// Get implements billing.InvoiceStore.
func (s *BillingInvoiceStore) Get(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (billing.Invoice, error) {
	var inv billing.Invoice
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		inv, err = billingScanInvoice(tx.QueryRow(ctx, `SELECT `+billingInvoiceCols+` FROM billing_invoices WHERE id = $1`, id), tenant)
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.ErrInvoiceNotFound
		}
		if err != nil {
			return translate(err)
		}
		invs := []billing.Invoice{inv}
		if err := billingLoadLines(ctx, tx, invs); err != nil {
			return translate(err)
		}
		inv = invs[0]
		return nil
	})
	if eusaas.KindOf(err) == eusaas.NotFound {
		// A tenant without a schema has no invoices either.
		return billing.Invoice{}, billing.ErrInvoiceNotFound.Wrap(err)
	}
	return inv, err
}

// List implements billing.InvoiceStore.
func (s *BillingInvoiceStore) List(ctx context.Context, tenant eusaas.TenantID, f billing.InvoiceFilter, page eusaas.Page) (eusaas.List[billing.Invoice], error) {
	page, err := page.Normalize()
	if err != nil {
		return eusaas.List[billing.Invoice]{}, err
	}
	var out eusaas.List[billing.Invoice]
	var from *time.Time
	if !f.PeriodFrom.IsZero() {
		from = &f.PeriodFrom
	}
	err = s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		const where = ` FROM billing_invoices WHERE ($1 = '' OR status = $1) AND ($2::date IS NULL OR period_start >= $2::date)`
		if err := tx.QueryRow(ctx, `SELECT count(*)`+where, string(f.Status), from).Scan(&out.Total); err != nil {
			return translate(err)
		}
		rows, err := tx.Query(ctx, `SELECT `+billingInvoiceCols+where+` ORDER BY period_start DESC, created_at DESC, id DESC LIMIT $3 OFFSET $4`,
			string(f.Status), from, page.Size, page.Offset())
		if err != nil {
			return translate(err)
		}
		out.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Invoice, error) { return billingScanInvoice(r, tenant) })
		if err != nil {
			return translate(err)
		}
		return translate(billingLoadLines(ctx, tx, out.Items))
	})
	return out, err
}

// Update implements billing.InvoiceStore. The status compare-and-set is the WHERE clause;
// content columns and lines are written only while the stored invoice is DRAFT (the
// immutability trigger would refuse anything else).
func (s *BillingInvoiceStore) Update(ctx context.Context, inv billing.Invoice, expect billing.InvoiceStatus) error {
	return s.db.InTenantTx(ctx, inv.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		var tag pgconn.CommandTag
		var err error
		if expect == billing.StatusDraft {
			var number *string
			if inv.Number != "" {
				number = &inv.Number
			}
			content, cerr := billingContent(inv)
			if cerr != nil {
				return cerr
			}
			tag, err = tx.Exec(ctx, `UPDATE billing_invoices SET number = $3, status = $4, subtotal = $5::numeric, tax_rate = $6::numeric,
				tax_amount = $7::numeric, total_amount = $8::numeric, rounding_rule = $9, issued_at = $10, due_date = $11,
				paid_at = $12, voided_at = $13, issued_by = $14, currency = $15, content = $16
				WHERE id = $1 AND status = $2`,
				inv.ID, string(expect), number, string(inv.Status), inv.Subtotal.String(), inv.TaxRate.String(), inv.TaxAmount.String(),
				inv.Total.String(), inv.RoundingRule, inv.IssuedAt, inv.DueDate, inv.PaidAt, inv.VoidedAt, inv.IssuedBy, inv.Currency, content)
		} else {
			tag, err = tx.Exec(ctx, `UPDATE billing_invoices SET status = $3, paid_at = $4, voided_at = $5 WHERE id = $1 AND status = $2`,
				inv.ID, string(expect), string(inv.Status), inv.PaidAt, inv.VoidedAt)
		}
		if err != nil {
			return translate(err)
		}
		if tag.RowsAffected() == 0 {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM billing_invoices WHERE id = $1`, inv.ID).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
				return billing.ErrInvoiceNotFound
			}
			return billing.ErrStatusConflict
		}
		if expect == billing.StatusDraft && inv.Status == billing.StatusDraft {
			if _, err := tx.Exec(ctx, `DELETE FROM billing_invoice_lines WHERE invoice_id = $1`, inv.ID); err != nil {
				return translate(err)
			}
			return translate(billingInsertLines(ctx, tx, inv))
		}
		return nil
	})
}

// NextNumber implements billing.InvoiceStore: the year's counter row is created or
// incremented, and row-locked until the enclosing transaction ends.
func (s *BillingInvoiceStore) NextNumber(ctx context.Context, year int) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		return translate(s.db.q(ctx).QueryRow(ctx, `INSERT INTO eusaas.billing_invoice_counters AS c (year, last_number) VALUES ($1, 1)
			ON CONFLICT (year) DO UPDATE SET last_number = c.last_number + 1 RETURNING last_number`, year).Scan(&n))
	})
	return n, err
}

// PseudonymizeIssuer implements billing.InvoiceStore.
func (s *BillingInvoiceStore) PseudonymizeIssuer(ctx context.Context, tenant eusaas.TenantID, subject, pseudonym string) (int, error) {
	var n int64
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE billing_invoices SET issued_by = $2 WHERE issued_by = $1 AND $1 <> ''`, subject, pseudonym)
		n = tag.RowsAffected()
		return translate(err)
	})
	return int(n), err
}

// BillingPriceStore implements billing.PriceStore.
type BillingPriceStore struct{ db *DB }

var _ billing.PriceStore = (*BillingPriceStore)(nil)

// NewBillingPriceStore returns the store.
func NewBillingPriceStore(db *DB) *BillingPriceStore { return &BillingPriceStore{db: db} }

type billingTierJSON struct {
	UpTo      *string `json:"up_to"`
	UnitPrice string  `json:"unit_price"`
}

// Overrides implements billing.PriceStore.
func (s *BillingPriceStore) Overrides(ctx context.Context, tenant eusaas.TenantID) (map[billing.ResourceType]billing.PriceModel, error) {
	out := map[billing.ResourceType]billing.PriceModel{}
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT resource_type, kind, unit_price::text, tiers::text FROM billing_prices`)
		if err != nil {
			return translate(err)
		}
		var r, kind, price, tiers string
		_, err = pgx.ForEachRow(rows, []any{&r, &kind, &price, &tiers}, func() error {
			p := billing.PriceModel{Kind: billing.PriceKind(kind)}
			var err error
			if p.UnitPrice, err = decimal.NewFromString(price); err != nil {
				return err
			}
			var ts []billingTierJSON
			if err := json.Unmarshal([]byte(tiers), &ts); err != nil {
				return err
			}
			for _, t := range ts {
				var tier billing.Tier
				if tier.UnitPrice, err = decimal.NewFromString(t.UnitPrice); err != nil {
					return err
				}
				if t.UpTo != nil {
					u, err := decimal.NewFromString(*t.UpTo)
					if err != nil {
						return err
					}
					tier.UpTo = &u
				}
				p.Tiers = append(p.Tiers, tier)
			}
			out[billing.ResourceType(r)] = p
			return nil
		})
		return translate(err)
	})
	return out, err
}

// SetOverride implements billing.PriceStore.
func (s *BillingPriceStore) SetOverride(ctx context.Context, tenant eusaas.TenantID, r billing.ResourceType, p billing.PriceModel) error {
	ts := make([]billingTierJSON, 0, len(p.Tiers))
	for _, t := range p.Tiers {
		j := billingTierJSON{UnitPrice: t.UnitPrice.String()}
		if t.UpTo != nil {
			u := t.UpTo.String()
			j.UpTo = &u
		}
		ts = append(ts, j)
	}
	tiers, err := json.Marshal(ts)
	if err != nil {
		return err
	}
	return s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO billing_prices (resource_type, kind, unit_price, tiers) VALUES ($1, $2, $3::numeric, $4::jsonb)
			ON CONFLICT (resource_type) DO UPDATE SET kind = excluded.kind, unit_price = excluded.unit_price, tiers = excluded.tiers`,
			string(r), string(p.Kind), p.UnitPrice.String(), string(tiers))
		return translate(err)
	})
}

// DeleteOverride implements billing.PriceStore.
func (s *BillingPriceStore) DeleteOverride(ctx context.Context, tenant eusaas.TenantID, r billing.ResourceType) error {
	return s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM billing_prices WHERE resource_type = $1`, string(r))
		return translate(err)
	})
}

// TaxRate implements billing.PriceStore.
func (s *BillingPriceStore) TaxRate(ctx context.Context, tenant eusaas.TenantID) (decimal.Decimal, error) {
	var v string
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT value FROM billing_settings WHERE key = 'tax_rate'`).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			v = "0"
			return nil
		}
		return translate(err)
	})
	if err != nil {
		return decimal.Zero, err
	}
	return decimal.NewFromString(v)
}

// SetTaxRate implements billing.PriceStore.
func (s *BillingPriceStore) SetTaxRate(ctx context.Context, tenant eusaas.TenantID, rate decimal.Decimal) error {
	return s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO billing_settings (key, value) VALUES ('tax_rate', $1)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, rate.String())
		return translate(err)
	})
}

var _ billing.UsageLocker = (*BillingUsageStore)(nil)

// LockMonths implements billing.UsageLocker: it locks (creating them at 0) the month rows of
// resource, in month order, until the transaction ends. Record's month upsert locks rows in
// (month, resource) order too; a batch that locks STORAGE first and then the others cannot
// deadlock with a batch without storage, which never locks the STORAGE rows.
func (s *BillingUsageStore) LockMonths(ctx context.Context, tenant eusaas.TenantID, months []time.Time, resource billing.ResourceType) error {
	res := make([]string, len(months))
	for i := range res {
		res[i] = string(resource)
	}
	return s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, billingLockMonths, months, res)
		if err != nil {
			return translate(err)
		}
		rows.Close()
		return translate(rows.Err())
	})
}
