package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
)

// AnomalyStore implements anomaly.Store on the tenant schemas' anomalies table. Rows that
// GDPR retention soft-deleted (deleted_at set, 0051_anomaly_retention.sql) are invisible to
// every read; they keep their (service, day) key until hard deletion, so Insert does not
// resurrect them.
type AnomalyStore struct{ db *DB }

var _ anomaly.Store = (*AnomalyStore)(nil)

// NewAnomalyStore returns the store.
func NewAnomalyStore(db *DB) *AnomalyStore { return &AnomalyStore{db: db} }

const anomalyColumns = `id, day, detected_at, service, kind, rule, severity, score,
	expected_amount::text, actual_amount::text, impact_amount::text, deviation_pct::text,
	description, contributions, acknowledged, acknowledged_by, acknowledged_at, suppressed_by,
	alerted, alerted_subscriptions, feedback_verdict, feedback_note, feedback_by, feedback_at,
	status, last_day, end_date, total_impact::text, max_deviation_pct::text, root_causes`

// anomalyContribution is the JSON shape of one contribution (decimal strings).
type anomalyContribution struct {
	Resource string  `json:"resource"`
	Expected string  `json:"expected"`
	Actual   string  `json:"actual"`
	Delta    string  `json:"delta"`
	SharePct *string `json:"share_pct"`
}

func anomalyEncodeContributions(cs []anomaly.Contribution) ([]byte, error) {
	out := make([]anomalyContribution, 0, len(cs))
	for _, c := range cs {
		ac := anomalyContribution{Resource: c.Resource, Expected: c.Expected.String(), Actual: c.Actual.String(), Delta: c.Delta.String()}
		if c.SharePct != nil {
			s := c.SharePct.String()
			ac.SharePct = &s
		}
		out = append(out, ac)
	}
	return json.Marshal(out)
}

func anomalyDecodeContributions(b []byte) ([]anomaly.Contribution, error) {
	var in []anomalyContribution
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	var out []anomaly.Contribution
	for _, ac := range in {
		var c anomaly.Contribution
		var err error
		c.Resource = ac.Resource
		if c.Expected, err = decimal.NewFromString(ac.Expected); err != nil {
			return nil, err
		}
		if c.Actual, err = decimal.NewFromString(ac.Actual); err != nil {
			return nil, err
		}
		if c.Delta, err = decimal.NewFromString(ac.Delta); err != nil {
			return nil, err
		}
		if ac.SharePct != nil {
			s, err := decimal.NewFromString(*ac.SharePct)
			if err != nil {
				return nil, err
			}
			c.SharePct = &s
		}
		out = append(out, c)
	}
	return out, nil
}

// anomalyRootCause is the JSON shape of one root cause (decimal strings).
type anomalyRootCause struct {
	Dimension    string `json:"dimension"`
	Value        string `json:"value"`
	Expected     string `json:"expected"`
	Actual       string `json:"actual"`
	Contribution string `json:"contribution"`
	SharePct     string `json:"share_pct"`
}

func anomalyEncodeRootCauses(rs []anomaly.RootCause) ([]byte, error) {
	out := make([]anomalyRootCause, 0, len(rs))
	for _, r := range rs {
		out = append(out, anomalyRootCause{Dimension: r.Dimension, Value: r.Value, Expected: r.ExpectedAmount.String(),
			Actual: r.ActualAmount.String(), Contribution: r.ContributionAmount.String(), SharePct: r.SharePct.String()})
	}
	return json.Marshal(out)
}

func anomalyDecodeRootCauses(b []byte) ([]anomaly.RootCause, error) {
	var in []anomalyRootCause
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	var out []anomaly.RootCause
	for _, r := range in {
		rc := anomaly.RootCause{Dimension: r.Dimension, Value: r.Value}
		for _, p := range []struct {
			s   string
			dst *decimal.Decimal
		}{{r.Expected, &rc.ExpectedAmount}, {r.Actual, &rc.ActualAmount}, {r.Contribution, &rc.ContributionAmount}, {r.SharePct, &rc.SharePct}} {
			d, err := decimal.NewFromString(p.s)
			if err != nil {
				return nil, err
			}
			*p.dst = d
		}
		out = append(out, rc)
	}
	return out, nil
}

func anomalyScan(tenant eusaas.TenantID, row pgx.Row) (anomaly.Anomaly, error) {
	a := anomaly.Anomaly{TenantID: tenant}
	var exp, act, imp string
	var dev, ackBy *string
	var contribs, fired, causes []byte
	var fbVerdict, fbNote, fbBy, maxDev *string
	var fbAt *time.Time
	var status, total string
	var kind, sev string
	err := row.Scan(&a.ID, &a.Day, &a.DetectedAt, &a.Service, &kind, &a.Rule, &sev, &a.Score,
		&exp, &act, &imp, &dev, &a.Description, &contribs, &a.Acknowledged, &ackBy, &a.AcknowledgedAt, &a.SuppressedBy,
		&a.Alerted, &fired, &fbVerdict, &fbNote, &fbBy, &fbAt,
		&status, &a.LastDay, &a.EndDate, &total, &maxDev, &causes)
	if err != nil {
		return a, err
	}
	a.Status = anomaly.Status(status)
	a.LastDay = a.LastDay.UTC()
	if a.EndDate != nil {
		e := a.EndDate.UTC()
		a.EndDate = &e
	}
	if a.TotalImpact, err = decimal.NewFromString(total); err != nil {
		return a, err
	}
	if maxDev != nil {
		m, err := decimal.NewFromString(*maxDev)
		if err != nil {
			return a, err
		}
		a.MaxDeviationPct = &m
	}
	if fbVerdict != nil && fbAt != nil {
		a.Feedback = &anomaly.Feedback{Verdict: anomaly.Verdict(*fbVerdict), At: fbAt.UTC()}
		if fbNote != nil {
			a.Feedback.Note = *fbNote
		}
		if fbBy != nil {
			a.Feedback.By = *fbBy
		}
	}
	var firedIDs []string
	if err := json.Unmarshal(fired, &firedIDs); err != nil {
		return a, err
	}
	for _, s := range firedIDs {
		id, err := uuid.Parse(s)
		if err != nil {
			return a, err
		}
		a.AlertedSubscriptions = append(a.AlertedSubscriptions, id)
	}
	a.Kind, a.Severity = anomaly.Kind(kind), anomaly.Severity(sev)
	a.Day = a.Day.UTC()
	a.DetectedAt = a.DetectedAt.UTC()
	if a.AcknowledgedAt != nil {
		at := a.AcknowledgedAt.UTC()
		a.AcknowledgedAt = &at
	}
	if ackBy != nil {
		a.AcknowledgedBy = *ackBy
	}
	for _, p := range []struct {
		s   string
		dst *decimal.Decimal
	}{{exp, &a.Expected}, {act, &a.Actual}, {imp, &a.Impact}} {
		if *p.dst, err = decimal.NewFromString(p.s); err != nil {
			return a, err
		}
	}
	if dev != nil {
		d, err := decimal.NewFromString(*dev)
		if err != nil {
			return a, err
		}
		a.DeviationPct = &d
	}
	if a.Contributions, err = anomalyDecodeContributions(contribs); err != nil {
		return a, err
	}
	if a.RootCauses, err = anomalyDecodeRootCauses(causes); err != nil {
		return a, err
	}
	return a, nil
}

func anomalyNotFound(err error) error {
	if eusaas.KindOf(err) == eusaas.NotFound {
		return anomaly.ErrNotFound.Wrap(err)
	}
	return err
}

// Insert implements anomaly.Store: INSERT ... ON CONFLICT (service, day) DO NOTHING, then
// the existing row when nothing was inserted (none when retention soft-deleted it).
func (s *AnomalyStore) Insert(ctx context.Context, a anomaly.Anomaly) (anomaly.Anomaly, bool, error) {
	a = a.WithEpisodeDefaults()
	if err := a.Validate(); err != nil {
		return anomaly.Anomaly{}, false, anomaly.ErrInvalid.Wrap(err)
	}
	var maxDevArg *string
	if a.MaxDeviationPct != nil {
		m := a.MaxDeviationPct.String()
		maxDevArg = &m
	}
	contribs, err := anomalyEncodeContributions(a.Contributions)
	if err != nil {
		return anomaly.Anomaly{}, false, err
	}
	causes, err := anomalyEncodeRootCauses(a.RootCauses)
	if err != nil {
		return anomaly.Anomaly{}, false, err
	}
	var dev *string
	if a.DeviationPct != nil {
		d := a.DeviationPct.String()
		dev = &d
	}
	var ackBy *string
	if a.Acknowledged {
		ackBy = &a.AcknowledgedBy
	}
	fired, err := anomalyEncodeIDs(a.AlertedSubscriptions)
	if err != nil {
		return anomaly.Anomaly{}, false, err
	}
	var fbVerdict, fbNote, fbBy *string
	var fbAt *time.Time
	if fb := a.Feedback; fb != nil {
		v, by, at := string(fb.Verdict), fb.By, fb.At.UTC()
		fbVerdict, fbBy, fbAt = &v, &by, &at
		if fb.Note != "" {
			fbNote = &fb.Note
		}
	}
	var out anomaly.Anomaly
	created := false
	err = s.db.InTenantTx(ctx, a.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		// created_at = detected_at: retention counts from when the anomaly was recorded.
		tag, err := tx.Exec(ctx, `INSERT INTO anomalies (id, day, detected_at, created_at, service, kind, rule, severity, score,
			expected_amount, actual_amount, impact_amount, deviation_pct, description, contributions,
			acknowledged, acknowledged_by, acknowledged_at, suppressed_by, alerted, alerted_subscriptions,
			feedback_verdict, feedback_note, feedback_by, feedback_at, status, last_day, end_date, total_impact, max_deviation_pct, root_causes)
			VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9::numeric, $10::numeric, $11::numeric, $12::numeric, $13, $14,
			$15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28::numeric, $29::numeric, $30)
			ON CONFLICT (service, day) DO NOTHING`,
			a.ID, a.Day, a.DetectedAt.UTC(), a.Service, string(a.Kind), a.Rule, string(a.Severity), a.Score,
			a.Expected.String(), a.Actual.String(), a.Impact.String(), dev, a.Description, contribs,
			a.Acknowledged, ackBy, a.AcknowledgedAt, a.SuppressedBy, a.Alerted, fired, fbVerdict, fbNote, fbBy, fbAt,
			string(a.Status), a.LastDay, a.EndDate, a.TotalImpact.String(), maxDevArg, causes)
		if err != nil {
			return translate(err)
		}
		created = tag.RowsAffected() == 1
		out, err = anomalyScan(a.TenantID, tx.QueryRow(ctx, `SELECT `+anomalyColumns+` FROM anomalies
			WHERE service = $1 AND day = $2 AND deleted_at IS NULL`, a.Service, a.Day))
		if !created && errors.Is(err, pgx.ErrNoRows) { // the key's row is soft-deleted
			out, err = anomaly.Anomaly{}, nil
		}
		return translate(err)
	})
	if err != nil {
		return anomaly.Anomaly{}, false, err
	}
	return out, created, nil
}

// Get implements anomaly.Store.
func (s *AnomalyStore) Get(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID) (anomaly.Anomaly, error) {
	var out anomaly.Anomaly
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = anomalyScan(tenant, tx.QueryRow(ctx, `SELECT `+anomalyColumns+` FROM anomalies WHERE id = $1 AND deleted_at IS NULL`, id))
		return translate(err)
	})
	return out, anomalyNotFound(err)
}

// List implements anomaly.Store.
func (s *AnomalyStore) List(ctx context.Context, tenant eusaas.TenantID, f anomaly.Filter, page eusaas.Page) (eusaas.List[anomaly.Anomaly], error) {
	page, err := page.Normalize()
	if err != nil {
		return eusaas.List[anomaly.Anomaly]{}, err
	}
	where := []string{"deleted_at IS NULL"}
	var args []any
	if f.Severity != nil {
		args = append(args, string(*f.Severity))
		where = append(where, "severity = $"+strconv.Itoa(len(args)))
	}
	if f.Acknowledged != nil {
		args = append(args, *f.Acknowledged)
		where = append(where, "acknowledged = $"+strconv.Itoa(len(args)))
	}
	if f.Status != nil {
		args = append(args, string(*f.Status))
		where = append(where, "status = $"+strconv.Itoa(len(args)))
	}
	if f.MinImpact != nil {
		args = append(args, f.MinImpact.String())
		where = append(where, "impact_amount >= $"+strconv.Itoa(len(args))+"::numeric")
	}
	if f.From != nil {
		args = append(args, anomaly.DayOf(*f.From))
		where = append(where, "day >= $"+strconv.Itoa(len(args)))
	}
	if f.To != nil {
		args = append(args, anomaly.DayOf(*f.To))
		where = append(where, "day <= $"+strconv.Itoa(len(args)))
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	var out eusaas.List[anomaly.Anomaly]
	err = s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM anomalies`+cond, args...).Scan(&out.Total); err != nil {
			return translate(err)
		}
		n := len(args)
		rows, err := tx.Query(ctx, `SELECT `+anomalyColumns+` FROM anomalies`+cond+
			` ORDER BY day DESC, service, id::text LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2),
			append(args, page.Size, page.Offset())...)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			a, err := anomalyScan(tenant, rows)
			if err != nil {
				return translate(err)
			}
			out.Items = append(out.Items, a)
		}
		return translate(rows.Err())
	})
	if err != nil {
		return eusaas.List[anomaly.Anomaly]{}, err
	}
	return out, nil
}

// Acknowledge implements anomaly.Store: the UPDATE only touches an unacknowledged row, so
// the first acknowledgement wins even under concurrency.
func (s *AnomalyStore) Acknowledge(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, by string, at time.Time) (anomaly.Anomaly, error) {
	var out anomaly.Anomaly
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE anomalies SET acknowledged = true, acknowledged_by = $2, acknowledged_at = $3
			WHERE id = $1 AND NOT acknowledged AND deleted_at IS NULL`, id, by, at.UTC()); err != nil {
			return translate(err)
		}
		var err error
		out, err = anomalyScan(tenant, tx.QueryRow(ctx, `SELECT `+anomalyColumns+` FROM anomalies WHERE id = $1 AND deleted_at IS NULL`, id))
		return translate(err)
	})
	return out, anomalyNotFound(err)
}

// Acknowledged implements anomaly.Store.
func (s *AnomalyStore) Acknowledged(ctx context.Context, tenant eusaas.TenantID, service string, from, to time.Time) ([]anomaly.Anomaly, error) {
	var out []anomaly.Anomaly
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+anomalyColumns+` FROM anomalies
			WHERE acknowledged AND deleted_at IS NULL AND service = $1 AND day BETWEEN $2 AND $3`, service, anomaly.DayOf(from), anomaly.DayOf(to))
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			a, err := anomalyScan(tenant, rows)
			if err != nil {
				return translate(err)
			}
			out = append(out, a)
		}
		return translate(rows.Err())
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return out, err
}
