package httpapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/auth"
)

// AlertChannelIn is one destination of a subscription as written: a webhook (url, secret)
// or an e-mail address.
type AlertChannelIn struct {
	Type    string `json:"type" enum:"webhook,email"`
	URL     string `json:"url,omitempty" maxLength:"2048" doc:"webhook: http or https URL, called with the signed JSON (X-Eusaas-Signature, X-Eusaas-Timestamp)"`
	Secret  string `json:"secret,omitempty" maxLength:"256" doc:"webhook: the HMAC-SHA256 key; omitted keeps the current secret of a webhook with the same URL. Never shown back."`
	Address string `json:"address,omitempty" maxLength:"254" doc:"email: the recipient. E-mail alerts are stored but not delivered yet (no mailer is configured)."`
}

// AlertChannelOut is a channel as shown: the secret replaced by secret_set.
type AlertChannelOut struct {
	Type      string `json:"type" enum:"webhook,email"`
	URL       string `json:"url,omitempty"`
	SecretSet bool   `json:"secret_set,omitempty" doc:"webhook: a secret is stored (it is never shown)"`
	Address   string `json:"address,omitempty"`
}

// AlertSubscriptionIn is one subscription as written.
type AlertSubscriptionIn struct {
	ThresholdAmount *string          `json:"threshold_amount,omitempty" doc:"alert when impact_amount is at least this (EUR, decimal string, >= 0)"`
	ThresholdPct    *string          `json:"threshold_pct,omitempty" doc:"alert when |deviation_pct| is at least this (>= 0; new spend always meets it)"`
	Combine         string           `json:"combine,omitempty" enum:"AND,OR" doc:"how both thresholds combine (default OR); with one threshold it alone decides, with none every anomaly matches"`
	Frequency       string           `json:"frequency" enum:"IMMEDIATE,DAILY,WEEKLY" doc:"IMMEDIATE (at detection), DAILY or WEEKLY (digest)"`
	Channels        []AlertChannelIn `json:"channels" minItems:"1" maxItems:"10"`
}

// AlertSubscriptionOut is one subscription as shown.
type AlertSubscriptionOut struct {
	ID              string            `json:"id" format:"uuid"`
	ThresholdAmount *string           `json:"threshold_amount"`
	ThresholdPct    *string           `json:"threshold_pct"`
	Combine         string            `json:"combine" enum:"AND,OR"`
	Frequency       string            `json:"frequency" enum:"IMMEDIATE,DAILY,WEEKLY"`
	Channels        []AlertChannelOut `json:"channels"`
}

// AnomalyAlertsIn is the body of PUT anomaly-alerts.
type AnomalyAlertsIn struct {
	Subscriptions []AlertSubscriptionIn `json:"subscriptions" maxItems:"20"`
}

// AnomalyAlertsOut is the body of GET and PUT anomaly-alerts.
type AnomalyAlertsOut struct {
	Subscriptions []AlertSubscriptionOut `json:"subscriptions"`
}

// NewAnomalyAlertsOut shows subs without their secrets.
func NewAnomalyAlertsOut(subs []anomaly.Subscription) AnomalyAlertsOut {
	out := AnomalyAlertsOut{Subscriptions: make([]AlertSubscriptionOut, 0, len(subs))}
	for _, s := range subs {
		o := AlertSubscriptionOut{ID: s.ID.String(), Combine: string(s.Combine), Frequency: string(s.Frequency), Channels: []AlertChannelOut{}}
		if s.ThresholdAmount != nil {
			v := s.ThresholdAmount.String()
			o.ThresholdAmount = &v
		}
		if s.ThresholdPct != nil {
			v := s.ThresholdPct.String()
			o.ThresholdPct = &v
		}
		for _, c := range s.Channels {
			o.Channels = append(o.Channels, AlertChannelOut{Type: string(c.Type), URL: c.URL, SecretSet: c.Secret != "", Address: c.Address})
		}
		out.Subscriptions = append(out.Subscriptions, o)
	}
	return out
}

// toSubscriptions parses the body; decimal syntax errors are field violations (the domain
// checks the rest).
func (in AnomalyAlertsIn) toSubscriptions() ([]anomaly.Subscription, error) {
	var v eusaas.Violations
	subs := make([]anomaly.Subscription, 0, len(in.Subscriptions))
	for i, s := range in.Subscriptions {
		sub := anomaly.Subscription{Combine: anomaly.Combine(s.Combine), Frequency: anomaly.Frequency(s.Frequency)}
		for _, p := range []struct {
			name string
			val  *string
			dst  **decimal.Decimal
		}{{"threshold_amount", s.ThresholdAmount, &sub.ThresholdAmount}, {"threshold_pct", s.ThresholdPct, &sub.ThresholdPct}} {
			if p.val == nil {
				continue
			}
			d, err := decimal.NewFromString(*p.val)
			if err != nil {
				v.Add(fmt.Sprintf("body.subscriptions[%d].%s", i, p.name), "must be a decimal number")
				continue
			}
			*p.dst = &d
		}
		for _, c := range s.Channels {
			sub.Channels = append(sub.Channels, anomaly.Channel{Type: anomaly.ChannelType(c.Type), URL: c.URL, Secret: c.Secret, Address: c.Address})
		}
		subs = append(subs, sub)
	}
	return subs, v.Err()
}

type anomalyAlertsGetInput struct {
	ID string `path:"id" doc:"tenant id"`
}

type anomalyAlertsPutInput struct {
	ID   string `path:"id" doc:"tenant id"`
	Body AnomalyAlertsIn
}

type anomalyAlertsOutput struct {
	Body AnomalyAlertsOut
}

// RegisterAnomalyAlerts adds the alert subscription routes:
//
//	GET /api/v1/tenants/{id}/anomaly-alerts  billing:read (every role)
//	PUT /api/v1/tenants/{id}/anomaly-alerts  billing:write (OWNER, ADMIN)
func RegisterAnomalyAlerts(s *Server, svc *anomaly.Service) {
	Register(s, huma.Operation{
		OperationID: "get-anomaly-alerts", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/anomaly-alerts",
		Summary: "Get the cost anomaly alert subscriptions", Tags: []string{"Anomalies"}, Security: BearerAuth,
		Description: "Webhook secrets are never shown: secret_set says one is stored. Needs billing:read.",
	}, func(ctx context.Context, in *anomalyAlertsGetInput) (*anomalyAlertsOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermBillingRead)
		if err != nil {
			return nil, err
		}
		subs, err := svc.AlertSubscriptions(ctx, tenant)
		if err != nil {
			return nil, err
		}
		return &anomalyAlertsOutput{Body: NewAnomalyAlertsOut(subs)}, nil
	})

	Register(s, huma.Operation{
		OperationID: "put-anomaly-alerts", Method: http.MethodPut, Path: "/api/v1/tenants/{id}/anomaly-alerts",
		Summary: "Replace the cost anomaly alert subscriptions", Tags: []string{"Anomalies"}, Security: BearerAuth,
		Description: "Replaces the whole list (each subscription gets a new id). Every anomaly is stored; a subscription " +
			"chooses which ones someone is told about: IMMEDIATE at detection, DAILY (every day) or WEEKLY (Mondays) in a " +
			"digest. Webhooks are signed as the platform's anomaly webhook. E-mail channels are stored but not delivered " +
			"until a mailer exists (the scan logs them as not deliverable). Needs billing:write (OWNER, ADMIN).",
	}, func(ctx context.Context, in *anomalyAlertsPutInput) (*anomalyAlertsOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermBillingWrite)
		if err != nil {
			return nil, err
		}
		subs, err := in.Body.toSubscriptions()
		if err != nil {
			return nil, err
		}
		stored, err := svc.SetAlertSubscriptions(ctx, tenant, subs)
		if err != nil {
			return nil, err
		}
		return &anomalyAlertsOutput{Body: NewAnomalyAlertsOut(stored)}, nil
	})
}
