package postgres

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
)

// anomalyChannel is the JSON shape of one channel in anomaly_alert_subscriptions.channels
// (memanomaly's GDPR view writes the same shape).
type anomalyChannel struct {
	Type    string `json:"type"`
	URL     string `json:"url,omitempty"`
	Secret  string `json:"secret,omitempty"`
	Address string `json:"address,omitempty"`
}

// anomalyEncodeIDs writes ids as a JSON array of strings (never null).
func anomalyEncodeIDs(ids []uuid.UUID) ([]byte, error) {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, id.String())
	}
	return json.Marshal(out)
}

// MarkAlerted implements anomaly.Store: one UPDATE appends the ids the row does not hold
// yet, in the given order, so concurrent digests cannot record a subscription twice.
func (s *AnomalyStore) MarkAlerted(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, subs []uuid.UUID) (anomaly.Anomaly, error) {
	var uniq []uuid.UUID
	for _, sub := range subs {
		if !slices.Contains(uniq, sub) {
			uniq = append(uniq, sub)
		}
	}
	ids, err := anomalyEncodeIDs(uniq)
	if err != nil {
		return anomaly.Anomaly{}, err
	}
	var out anomaly.Anomaly
	err = s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE anomalies SET alerted = true, alerted_subscriptions = alerted_subscriptions ||
			COALESCE((SELECT jsonb_agg(x.v ORDER BY x.n) FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(v, n)
				WHERE NOT alerted_subscriptions @> jsonb_build_array(x.v)), '[]'::jsonb)
			WHERE id = $1 AND deleted_at IS NULL`, id, ids); err != nil {
			return translate(err)
		}
		var err error
		out, err = anomalyScan(tenant, tx.QueryRow(ctx, `SELECT `+anomalyColumns+` FROM anomalies WHERE id = $1 AND deleted_at IS NULL`, id))
		return translate(err)
	})
	return out, anomalyNotFound(err)
}

// AlertSubscriptions implements anomaly.Store.
func (s *AnomalyStore) AlertSubscriptions(ctx context.Context, tenant eusaas.TenantID) ([]anomaly.Subscription, error) {
	out := []anomaly.Subscription{}
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, threshold_amount::text, threshold_pct::text, combine, frequency, channels
			FROM anomaly_alert_subscriptions ORDER BY position`)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var sub anomaly.Subscription
			var amt, pct *string
			var combine, freq string
			var chs []byte
			if err := rows.Scan(&sub.ID, &amt, &pct, &combine, &freq, &chs); err != nil {
				return translate(err)
			}
			sub.Combine, sub.Frequency = anomaly.Combine(combine), anomaly.Frequency(freq)
			for _, p := range []struct {
				s   *string
				dst **decimal.Decimal
			}{{amt, &sub.ThresholdAmount}, {pct, &sub.ThresholdPct}} {
				if p.s == nil {
					continue
				}
				d, err := decimal.NewFromString(*p.s)
				if err != nil {
					return err
				}
				*p.dst = &d
			}
			var in []anomalyChannel
			if err := json.Unmarshal(chs, &in); err != nil {
				return err
			}
			for _, c := range in {
				sub.Channels = append(sub.Channels, anomaly.Channel{Type: anomaly.ChannelType(c.Type), URL: c.URL, Secret: c.Secret, Address: c.Address})
			}
			out = append(out, sub)
		}
		return translate(rows.Err())
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetAlertSubscriptions implements anomaly.Store: delete and insert in one transaction.
func (s *AnomalyStore) SetAlertSubscriptions(ctx context.Context, tenant eusaas.TenantID, subs []anomaly.Subscription) error {
	if err := anomaly.ValidateSubscriptions(subs); err != nil {
		return anomaly.ErrInvalid.Wrap(err)
	}
	for _, sub := range subs {
		if sub.ID == uuid.Nil {
			return anomaly.ErrInvalid.Wrap(eusaas.E(eusaas.InvalidArgument, "subscription id is required"))
		}
	}
	return s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM anomaly_alert_subscriptions`); err != nil {
			return translate(err)
		}
		for i, sub := range subs {
			chs := make([]anomalyChannel, 0, len(sub.Channels))
			for _, c := range sub.Channels {
				chs = append(chs, anomalyChannel{Type: string(c.Type), URL: c.URL, Secret: c.Secret, Address: c.Address})
			}
			b, err := json.Marshal(chs)
			if err != nil {
				return err
			}
			var amt, pct *string
			if sub.ThresholdAmount != nil {
				v := sub.ThresholdAmount.String()
				amt = &v
			}
			if sub.ThresholdPct != nil {
				v := sub.ThresholdPct.String()
				pct = &v
			}
			if _, err := tx.Exec(ctx, `INSERT INTO anomaly_alert_subscriptions (id, position, threshold_amount, threshold_pct, combine, frequency, channels)
				VALUES ($1, $2, $3::numeric, $4::numeric, $5, $6, $7)`, sub.ID, i, amt, pct, string(sub.Combine), string(sub.Frequency), b); err != nil {
				return translate(err)
			}
		}
		return nil
	})
}
