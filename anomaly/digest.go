package anomaly

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// DigestPayload is the JSON body of a digest webhook: the anomalies of the period that
// meet the subscription and were not sent to it before.
type DigestPayload struct {
	Event          string           `json:"event"` // "anomaly.digest"
	TenantID       string           `json:"tenant_id"`
	SubscriptionID string           `json:"subscription_id"`
	Frequency      string           `json:"frequency"`
	From           string           `json:"from"`
	To             string           `json:"to"`
	Anomalies      []WebhookPayload `json:"anomalies"`
}

// digestLookback is how many days of anomalies a digest considers: its period plus a week,
// so a digest that failed is caught up by the next one. Anomalies already sent to the
// subscription (in AlertedSubscriptions) are never sent twice.
func digestLookback(f Frequency) int {
	if f == FrequencyWeekly {
		return 14
	}
	return 8
}

// SendDigests sends every ACTIVE tenant's subscriptions of frequency f (DAILY or WEEKLY)
// their digest as of now: the unsuppressed anomalies of the lookback window (by day) that
// meet the subscription and were not sent to it, in one signed webhook call per channel.
// Anomalies of a digest that reached a channel are marked alerted by the subscription. The
// platform runs DAILY every day and WEEKLY on Mondays.
func (s *Scanner) SendDigests(ctx context.Context, f Frequency, now time.Time) (ScanReport, error) {
	rep := ScanReport{Failed: map[eusaas.TenantID]error{}}
	tenants, err := s.tenants.ActiveTenants(ctx)
	if err != nil {
		return rep, err
	}
	for _, t := range tenants {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		rep.Tenants++
		tr, err := s.digestTenant(ctx, t.ID, f, now)
		if err != nil {
			rep.Failed[t.ID] = err
			s.opts.Logger.ErrorContext(ctx, "anomaly digest failed", "tenant_id", t.ID.String(), "error", err)
		}
		rep.Notified += tr.Notified
		rep.NotifyErrors += tr.NotifyErrors
	}
	return rep, nil
}

func (s *Scanner) digestTenant(ctx context.Context, tenant eusaas.TenantID, f Frequency, now time.Time) (TenantReport, error) {
	rep := TenantReport{Tenant: tenant}
	subs, err := s.store.AlertSubscriptions(ctx, tenant)
	if err != nil {
		return rep, err
	}
	subs = slices.DeleteFunc(subs, func(sub Subscription) bool { return sub.Frequency != f })
	if len(subs) == 0 {
		return rep, nil
	}
	to := DayOf(now).AddDate(0, 0, -1)
	from := to.AddDate(0, 0, -(digestLookback(f) - 1))
	var all []Anomaly
	for page := 1; ; page++ {
		l, err := s.store.List(ctx, tenant, Filter{From: &from, To: &to}, eusaas.Page{Page: page, Size: eusaas.MaxPageSize})
		if err != nil {
			return rep, err
		}
		all = append(all, l.Items...)
		if len(l.Items) < eusaas.MaxPageSize || len(all) >= l.Total {
			break
		}
	}
	for _, sub := range subs {
		var due []Anomaly
		for _, a := range all {
			if a.SuppressedBy == nil && sub.Matches(a) && !slices.Contains(a.AlertedSubscriptions, sub.ID) {
				due = append(due, a)
			}
		}
		if len(due) == 0 {
			continue
		}
		p := DigestPayload{Event: "anomaly.digest", TenantID: tenant.String(), SubscriptionID: sub.ID.String(),
			Frequency: string(f), From: from.Format(time.DateOnly), To: to.Format(time.DateOnly)}
		for _, a := range due {
			p.Anomalies = append(p.Anomalies, Payload(a))
		}
		body, err := json.Marshal(p)
		if err != nil {
			return rep, err
		}
		if !s.deliver(ctx, tenant, sub, body, &rep) {
			continue
		}
		for _, a := range due {
			if _, err := s.store.MarkAlerted(ctx, tenant, a.ID, []uuid.UUID{sub.ID}); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}
