package anomaly

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
)

// Combine says how a subscription's two thresholds combine when both are set.
type Combine string

// Combinations.
const (
	CombineAnd Combine = "AND"
	CombineOr  Combine = "OR"
)

// Frequency says when a subscription is told: at detection, or in a daily or weekly digest.
type Frequency string

// Frequencies.
const (
	FrequencyImmediate Frequency = "IMMEDIATE"
	FrequencyDaily     Frequency = "DAILY"
	FrequencyWeekly    Frequency = "WEEKLY"
)

// ChannelType is where an alert goes.
type ChannelType string

// Channel types.
const (
	ChannelWebhook ChannelType = "webhook"
	ChannelEmail   ChannelType = "email"
)

// Channel is one destination of a subscription. Webhooks use URL and Secret (signed as
// WebhookNotifier signs), e-mail uses Address.
type Channel struct {
	Type    ChannelType
	URL     string
	Secret  string
	Address string
}

// Subscription is one alerting choice of a tenant. Every anomaly is stored; a subscription
// decides which of them someone is told about. With neither threshold every anomaly
// matches; with one, that one decides; with both, Combine does.
type Subscription struct {
	ID              uuid.UUID
	ThresholdAmount *decimal.Decimal // impact in EUR at least this
	ThresholdPct    *decimal.Decimal // |deviation_pct| at least this (new spend, with no percentage, always meets it)
	Combine         Combine
	Frequency       Frequency
	Channels        []Channel
}

// MaxSubscriptions bounds a tenant's subscriptions (and MaxChannels each one's channels):
// every scan evaluates all of them for every new anomaly.
const (
	MaxSubscriptions = 20
	MaxChannels      = 10
)

// EpisodeImpact is the impact alerting compares: the episode's cumulative impact, or the
// day's for an anomaly without episode fields.
func (a Anomaly) EpisodeImpact() decimal.Decimal {
	if a.TotalImpact.GreaterThan(a.Impact) {
		return a.TotalImpact
	}
	return a.Impact
}

// Matches reports whether a (its episode so far) meets s's thresholds.
func (s Subscription) Matches(a Anomaly) bool {
	amountOK, pctOK := true, true
	if s.ThresholdAmount != nil {
		amountOK = a.EpisodeImpact().GreaterThanOrEqual(*s.ThresholdAmount)
	}
	pct := a.DeviationPct
	if a.MaxDeviationPct != nil {
		pct = a.MaxDeviationPct
	}
	if s.ThresholdPct != nil && pct != nil {
		pctOK = pct.Abs().GreaterThanOrEqual(*s.ThresholdPct)
	}
	if s.ThresholdAmount != nil && s.ThresholdPct != nil && s.Combine == CombineOr {
		return amountOK || pctOK
	}
	return amountOK && pctOK
}

// ValidateSubscriptions checks a tenant's whole list; locations are those of the API body
// (body.subscriptions[i].channels[j].url). It never quotes a secret.
func ValidateSubscriptions(subs []Subscription) error {
	var v eusaas.Violations
	if len(subs) > MaxSubscriptions {
		v.Add("body.subscriptions", fmt.Sprintf("at most %d subscriptions", MaxSubscriptions))
	}
	for i, s := range subs {
		p := fmt.Sprintf("body.subscriptions[%d]", i)
		if s.ThresholdAmount != nil && s.ThresholdAmount.IsNegative() {
			v.Add(p+".threshold_amount", "must not be negative")
		}
		if s.ThresholdPct != nil && s.ThresholdPct.IsNegative() {
			v.Add(p+".threshold_pct", "must not be negative")
		}
		switch s.Combine {
		case CombineAnd, CombineOr:
		default:
			v.Add(p+".combine", "must be AND or OR")
		}
		switch s.Frequency {
		case FrequencyImmediate, FrequencyDaily, FrequencyWeekly:
		default:
			v.Add(p+".frequency", "must be IMMEDIATE, DAILY or WEEKLY")
		}
		if len(s.Channels) == 0 || len(s.Channels) > MaxChannels {
			v.Add(p+".channels", fmt.Sprintf("must hold 1..%d channels", MaxChannels))
		}
		for j, c := range s.Channels {
			cp := fmt.Sprintf("%s.channels[%d]", p, j)
			switch c.Type {
			case ChannelWebhook:
				u, err := url.Parse(c.URL)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(c.URL) > 2048 {
					v.Add(cp+".url", "must be an absolute http or https URL")
				}
				if c.Secret == "" || len(c.Secret) > 256 {
					v.Add(cp+".secret", "must be 1..256 characters")
				}
			case ChannelEmail:
				at := strings.LastIndexByte(c.Address, '@')
				if at < 1 || at == len(c.Address)-1 || len(c.Address) > 254 || strings.ContainsAny(c.Address, " \r\n<>") {
					v.Add(cp+".address", "must be an e-mail address")
				}
			default:
				v.Add(cp+".type", "must be webhook or email")
			}
		}
	}
	return v.Err()
}

// CloneSubscriptions deep-copies subs (stores hand out copies).
func CloneSubscriptions(subs []Subscription) []Subscription {
	out := make([]Subscription, len(subs))
	for i, s := range subs {
		if s.ThresholdAmount != nil {
			d := *s.ThresholdAmount
			s.ThresholdAmount = &d
		}
		if s.ThresholdPct != nil {
			d := *s.ThresholdPct
			s.ThresholdPct = &d
		}
		s.Channels = slices.Clone(s.Channels)
		out[i] = s
	}
	return out
}
