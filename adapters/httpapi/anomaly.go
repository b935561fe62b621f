package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
	"github.com/eusaas/eusaas/auth"
)

// AnomalyContribution is one resource's part in the day's deviation.
type AnomalyContribution struct {
	Resource       string  `json:"resource"`
	ExpectedAmount string  `json:"expected_amount" doc:"EUR, decimal string"`
	ActualAmount   string  `json:"actual_amount" doc:"EUR, decimal string"`
	DeltaAmount    string  `json:"delta_amount" doc:"actual - expected, EUR"`
	SharePct       *string `json:"share_pct" doc:"delta as a percentage of the day's total delta; null when that is 0"`
}

// AnomalyRootCause is one attribute value explaining part of the anomaly's deviation.
type AnomalyRootCause struct {
	Dimension          string `json:"dimension" doc:"usage event attribute key, e.g. region"`
	Value              string `json:"value" doc:"attribute value; (other) sums a key's values beyond its first 1,000"`
	ExpectedAmount     string `json:"expected_amount" doc:"the value's cost over the episode's days as its own last 28 days predict (median per day), EUR"`
	ActualAmount       string `json:"actual_amount" doc:"the value's cost over the episode's days, EUR"`
	ContributionAmount string `json:"contribution_amount" doc:"actual - expected, EUR (signed: negative for drops)"`
	SharePct           string `json:"share_pct" doc:"the contribution's share of the anomaly's deviation in percent; the listed shares sum to at most 100"`
}

// AnomalyBody is an anomaly in the API (SPEC.md fields plus the explanation).
type AnomalyBody struct {
	ID                   string                `json:"id" format:"uuid"`
	TenantID             string                `json:"tenant_id" format:"uuid"`
	DetectedAt           time.Time             `json:"detected_at"`
	Day                  string                `json:"day" format:"date" doc:"UTC date the anomaly is about (budget alerts: first day of the month)"`
	Severity             string                `json:"severity" enum:"LOW,MEDIUM,HIGH,CRITICAL"`
	Kind                 string                `json:"kind" enum:"SPIKE,DROP,NEW_SPEND,BUDGET"`
	Service              string                `json:"service" doc:"resource type, TOTAL (all resources) or BUDGET"`
	Rule                 string                `json:"rule" doc:"what fired: seasonal, zscore, new_spend, cold_start_spike, budget"`
	Score                float64               `json:"score" doc:"statistical score in sigmas; 0 for rule-based findings"`
	ExpectedAmount       string                `json:"expected_amount" doc:"EUR, decimal string"`
	ActualAmount         string                `json:"actual_amount" doc:"EUR, decimal string"`
	ImpactAmount         string                `json:"impact_amount" doc:"|actual - expected|, EUR"`
	Currency             string                `json:"currency" enum:"EUR"`
	DeviationPct         *string               `json:"deviation_pct" doc:"(actual - expected) / expected * 100; null when expected is 0 (new spend)"`
	Description          string                `json:"description"`
	Contributions        []AnomalyContribution `json:"contributions"`
	RootCauses           []AnomalyRootCause    `json:"root_causes" doc:"attribute values (from usage events' attributes) that explain the deviation over the episode, largest first, at most 5"`
	Acknowledged         bool                  `json:"acknowledged"`
	AcknowledgedBy       *string               `json:"acknowledged_by"`
	AcknowledgedAt       *time.Time            `json:"acknowledged_at"`
	SuppressedBy         *string               `json:"suppressed_by" doc:"the acknowledged anomaly whose pattern this one repeats (stored acknowledged, not notified)"`
	Alerted              bool                  `json:"alerted" doc:"someone was told: the platform notifier (impact at least the tenant's anomaly_min_impact) or a subscription"`
	AlertedSubscriptions []string              `json:"alerted_subscriptions" doc:"ids of the alert subscriptions that fired, in firing order"`
	Feedback             *AnomalyFeedback      `json:"feedback,omitempty" doc:"the latest verdict given; absent when none"`
	Status               string                `json:"status" enum:"OPEN,CLOSED" doc:"episode state: consecutive anomalous days of one series are one anomaly; CLOSED after 3 normal days"`
	StartDate            string                `json:"start_date" format:"date" doc:"first anomalous day of the episode (= day)"`
	LastDay              string                `json:"last_day" format:"date" doc:"latest anomalous day so far"`
	EndDate              *string               `json:"end_date" format:"date" doc:"last anomalous day once CLOSED; null while OPEN"`
	TotalImpact          string                `json:"total_impact" doc:"sum of the daily impacts over the episode, EUR; severity follows it"`
	MaxDeviationPct      *string               `json:"max_deviation_pct" doc:"largest deviation of the episode; null when only new spend"`
}

// AnomalyFeedback is the latest verdict on an anomaly.
type AnomalyFeedback struct {
	Verdict string    `json:"verdict" enum:"EXPECTED,FALSE_POSITIVE,CONFIRMED"`
	Note    *string   `json:"note"`
	By      string    `json:"by" doc:"user id"`
	At      time.Time `json:"at"`
}

// NewAnomalyBody converts a domain anomaly.
func NewAnomalyBody(a anomaly.Anomaly) AnomalyBody {
	b := AnomalyBody{
		ID: a.ID.String(), TenantID: a.TenantID.String(), DetectedAt: a.DetectedAt.UTC(), Day: a.Day.Format(time.DateOnly),
		Severity: string(a.Severity), Kind: string(a.Kind), Service: a.Service, Rule: a.Rule, Score: a.Score,
		ExpectedAmount: a.Expected.String(), ActualAmount: a.Actual.String(), ImpactAmount: a.Impact.String(), Currency: "EUR",
		Description: a.Description, Acknowledged: a.Acknowledged, Contributions: []AnomalyContribution{}, RootCauses: []AnomalyRootCause{},
		Alerted: a.Alerted, AlertedSubscriptions: []string{},
	}
	ea := a.WithEpisodeDefaults()
	b.Status, b.StartDate, b.LastDay, b.TotalImpact = string(ea.Status), a.Day.Format(time.DateOnly), ea.LastDay.Format(time.DateOnly), ea.TotalImpact.String()
	if ea.EndDate != nil {
		e := ea.EndDate.Format(time.DateOnly)
		b.EndDate = &e
	}
	if ea.MaxDeviationPct != nil {
		m := ea.MaxDeviationPct.String()
		b.MaxDeviationPct = &m
	}
	if fb := a.Feedback; fb != nil {
		b.Feedback = &AnomalyFeedback{Verdict: string(fb.Verdict), By: fb.By, At: fb.At.UTC()}
		if fb.Note != "" {
			note := fb.Note
			b.Feedback.Note = &note
		}
	}
	for _, id := range a.AlertedSubscriptions {
		b.AlertedSubscriptions = append(b.AlertedSubscriptions, id.String())
	}
	if a.DeviationPct != nil {
		s := a.DeviationPct.String()
		b.DeviationPct = &s
	}
	if a.Acknowledged {
		by := a.AcknowledgedBy
		b.AcknowledgedBy = &by
	}
	if a.AcknowledgedAt != nil {
		at := a.AcknowledgedAt.UTC()
		b.AcknowledgedAt = &at
	}
	if a.SuppressedBy != nil {
		s := a.SuppressedBy.String()
		b.SuppressedBy = &s
	}
	for _, c := range a.Contributions {
		ac := AnomalyContribution{Resource: c.Resource, ExpectedAmount: c.Expected.String(), ActualAmount: c.Actual.String(), DeltaAmount: c.Delta.String()}
		if c.SharePct != nil {
			s := c.SharePct.String()
			ac.SharePct = &s
		}
		b.Contributions = append(b.Contributions, ac)
	}
	for _, r := range a.RootCauses {
		b.RootCauses = append(b.RootCauses, AnomalyRootCause{Dimension: r.Dimension, Value: r.Value, ExpectedAmount: r.ExpectedAmount.String(),
			ActualAmount: r.ActualAmount.String(), ContributionAmount: r.ContributionAmount.String(), SharePct: r.SharePct.String()})
	}
	return b
}

type anomalyListInput struct {
	ID           string `path:"id" doc:"tenant id"`
	Severity     string `query:"severity" enum:"LOW,MEDIUM,HIGH,CRITICAL" doc:"only this severity"`
	Acknowledged string `query:"acknowledged" enum:"true,false" doc:"only acknowledged (true) or unacknowledged (false) anomalies"`
	Status       string `query:"status" enum:"OPEN,CLOSED" doc:"only open or closed episodes"`
	MinImpact    string `query:"min_impact" doc:"only anomalies with impact_amount at least this (EUR, decimal string)"`
	StartDate    string `query:"start_date" format:"date" doc:"only anomalies on or after this UTC day"`
	EndDate      string `query:"end_date" format:"date" doc:"only anomalies on or before this UTC day"`
	PageQuery
}

type anomalyListOutput struct {
	Body Paginated[AnomalyBody]
}

type anomalyAckInput struct {
	ID        string `path:"id" doc:"tenant id"`
	AnomalyID string `path:"anomaly_id" doc:"anomaly id"`
}

type anomalyFeedbackInput struct {
	ID        string `path:"id" doc:"tenant id"`
	AnomalyID string `path:"anomaly_id" doc:"anomaly id"`
	Body      struct {
		Verdict string `json:"verdict" enum:"EXPECTED,FALSE_POSITIVE,CONFIRMED"`
		Note    string `json:"note,omitempty" maxLength:"1000"`
	}
}

type anomalyOutput struct {
	Body AnomalyBody
}

// RegisterAnomaly adds the anomaly routes:
//
//	GET  /api/v1/tenants/{id}/anomalies                           billing:read
//	POST /api/v1/tenants/{id}/anomalies/{anomaly_id}/acknowledge  billing:write
//	POST /api/v1/tenants/{id}/anomalies/{anomaly_id}/feedback     billing:write
//
// and the alert subscriptions (RegisterAnomalyAlerts).
func RegisterAnomaly(s *Server, svc *anomaly.Service) {
	RegisterAnomalyAlerts(s, svc)
	Register(s, huma.Operation{
		OperationID: "list-anomalies", Method: http.MethodGet, Path: "/api/v1/tenants/{id}/anomalies",
		Summary: "List cost anomalies", Tags: []string{"Anomalies"}, Security: BearerAuth,
		Description: "Every anomaly the detector finds is stored, alerted or not. Newest day first. Filters: severity, " +
			"acknowledged, status (OPEN/CLOSED episodes), min_impact, start_date/end_date (days, inclusive). Needs billing:read.",
	}, func(ctx context.Context, in *anomalyListInput) (*anomalyListOutput, error) {
		tenant, _, err := s.TenantAccess(ctx, in.ID, auth.PermBillingRead)
		if err != nil {
			return nil, err
		}
		var f anomaly.Filter
		if in.Severity != "" {
			sev := anomaly.Severity(in.Severity)
			f.Severity = &sev
		}
		if in.Acknowledged != "" {
			ack := in.Acknowledged == "true"
			f.Acknowledged = &ack
		}
		if in.Status != "" {
			st := anomaly.Status(in.Status)
			f.Status = &st
		}
		var v eusaas.Violations
		if in.MinImpact != "" {
			m, err := decimal.NewFromString(in.MinImpact)
			if err != nil {
				v.Add("query.min_impact", "must be a decimal number")
			} else {
				f.MinImpact = &m
			}
		}
		for _, q := range []struct {
			name, val string
			dst       **time.Time
		}{{"query.start_date", in.StartDate, &f.From}, {"query.end_date", in.EndDate, &f.To}} {
			if q.val == "" {
				continue
			}
			d, err := time.Parse(time.DateOnly, q.val)
			if err != nil {
				v.Add(q.name, "must be a date YYYY-MM-DD")
				continue
			}
			*q.dst = &d
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		page := in.ToPage()
		list, err := svc.List(ctx, tenant, f, page)
		if err != nil {
			return nil, err
		}
		items := make([]AnomalyBody, 0, len(list.Items))
		for _, a := range list.Items {
			items = append(items, NewAnomalyBody(a))
		}
		return &anomalyListOutput{Body: NewPaginated(items, list.Total, page)}, nil
	})

	Register(s, huma.Operation{
		OperationID: "acknowledge-anomaly", Method: http.MethodPost, Path: "/api/v1/tenants/{id}/anomalies/{anomaly_id}/acknowledge",
		Summary: "Acknowledge a cost anomaly", Tags: []string{"Anomalies"}, Security: BearerAuth,
		Description: "Marks the anomaly acknowledged by the caller. Repeats of its pattern (same service and direction, " +
			"within 7 days, at most the same impact) are then stored acknowledged and not notified. Acknowledging twice keeps " +
			"the first acknowledgement. Needs billing:write.",
	}, func(ctx context.Context, in *anomalyAckInput) (*anomalyOutput, error) {
		tenant, p, err := s.TenantAccess(ctx, in.ID, auth.PermBillingWrite)
		if err != nil {
			return nil, err
		}
		id, err := uuid.Parse(in.AnomalyID)
		if err != nil || len(in.AnomalyID) != 36 {
			return nil, eusaas.Invalid("invalid anomaly id", eusaas.FieldViolation{Location: "path.anomaly_id", Message: "must be a UUID"})
		}
		a, err := svc.Acknowledge(ctx, tenant, id, p.UserID)
		if err != nil {
			return nil, err
		}
		return &anomalyOutput{Body: NewAnomalyBody(a)}, nil
	})

	Register(s, huma.Operation{
		OperationID: "anomaly-feedback", Method: http.MethodPost, Path: "/api/v1/tenants/{id}/anomalies/{anomaly_id}/feedback",
		Summary: "Judge a cost anomaly", Tags: []string{"Anomalies"}, Security: BearerAuth,
		Description: "Records the caller's verdict (replacing an earlier one). EXPECTED and FALSE_POSITIVE mute alerts of the " +
			"same series (service) for 30 days (the scanner's FeedbackMuteDays): later anomalies are stored but nobody is " +
			"told. Verdicts are counted per tenant. Needs billing:write.",
	}, func(ctx context.Context, in *anomalyFeedbackInput) (*anomalyOutput, error) {
		tenant, p, err := s.TenantAccess(ctx, in.ID, auth.PermBillingWrite)
		if err != nil {
			return nil, err
		}
		id, err := uuid.Parse(in.AnomalyID)
		if err != nil || len(in.AnomalyID) != 36 {
			return nil, eusaas.Invalid("invalid anomaly id", eusaas.FieldViolation{Location: "path.anomaly_id", Message: "must be a UUID"})
		}
		a, err := svc.GiveFeedback(ctx, tenant, id, anomaly.Verdict(in.Body.Verdict), in.Body.Note, p.UserID)
		if err != nil {
			return nil, err
		}
		return &anomalyOutput{Body: NewAnomalyBody(a)}, nil
	})
}
