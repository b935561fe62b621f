package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
)

// SetFeedback implements anomaly.Store. An empty note is stored as NULL.
func (s *AnomalyStore) SetFeedback(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, fb anomaly.Feedback) (anomaly.Anomaly, error) {
	if !fb.Verdict.Valid() {
		return anomaly.Anomaly{}, anomaly.ErrInvalid.Wrap(eusaas.E(eusaas.InvalidArgument, "unknown verdict"))
	}
	var note *string
	if fb.Note != "" {
		note = &fb.Note
	}
	var out anomaly.Anomaly
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE anomalies SET feedback_verdict = $2, feedback_note = $3, feedback_by = $4, feedback_at = $5
			WHERE id = $1 AND deleted_at IS NULL`, id, string(fb.Verdict), note, fb.By, fb.At.UTC()); err != nil {
			return translate(err)
		}
		var err error
		out, err = anomalyScan(tenant, tx.QueryRow(ctx, `SELECT `+anomalyColumns+` FROM anomalies WHERE id = $1 AND deleted_at IS NULL`, id))
		return translate(err)
	})
	return out, anomalyNotFound(err)
}

// Muting implements anomaly.Store (index anomalies_muting, 0053).
func (s *AnomalyStore) Muting(ctx context.Context, tenant eusaas.TenantID, service string, since time.Time) ([]anomaly.Anomaly, error) {
	var out []anomaly.Anomaly
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+anomalyColumns+` FROM anomalies
			WHERE feedback_verdict IN ('EXPECTED', 'FALSE_POSITIVE') AND service = $1 AND feedback_at >= $2 AND deleted_at IS NULL`,
			service, since.UTC())
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
	return out, err
}

// FeedbackCounts implements anomaly.Store.
func (s *AnomalyStore) FeedbackCounts(ctx context.Context, tenant eusaas.TenantID) (map[anomaly.Verdict]int, error) {
	out := map[anomaly.Verdict]int{}
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT feedback_verdict, count(*) FROM anomalies
			WHERE feedback_verdict IS NOT NULL AND deleted_at IS NULL GROUP BY feedback_verdict`)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var v string
			var n int
			if err := rows.Scan(&v, &n); err != nil {
				return translate(err)
			}
			out[anomaly.Verdict(v)] = n
		}
		return translate(rows.Err())
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Episodes implements anomaly.Store.
func (s *AnomalyStore) Episodes(ctx context.Context, tenant eusaas.TenantID, since time.Time) ([]anomaly.Anomaly, error) {
	var out []anomaly.Anomaly
	err := s.db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+anomalyColumns+` FROM anomalies
			WHERE (status = 'OPEN' OR last_day >= $1) AND deleted_at IS NULL`, anomaly.DayOf(since))
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
	return out, err
}

// UpdateEpisode implements anomaly.Store.
func (s *AnomalyStore) UpdateEpisode(ctx context.Context, a anomaly.Anomaly) (anomaly.Anomaly, error) {
	if err := a.Validate(); err != nil {
		return anomaly.Anomaly{}, anomaly.ErrInvalid.Wrap(err)
	}
	var maxDev *string
	if a.MaxDeviationPct != nil {
		m := a.MaxDeviationPct.String()
		maxDev = &m
	}
	causes, err := anomalyEncodeRootCauses(a.RootCauses)
	if err != nil {
		return anomaly.Anomaly{}, err
	}
	var out anomaly.Anomaly
	err = s.db.InTenantTx(ctx, a.TenantID, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE anomalies SET status = $2, last_day = $3, end_date = $4, total_impact = $5::numeric,
			max_deviation_pct = $6::numeric, severity = $7, description = $8, root_causes = $9 WHERE id = $1 AND deleted_at IS NULL`,
			a.ID, string(a.Status), anomaly.DayOf(a.LastDay), a.EndDate, a.TotalImpact.String(), maxDev, string(a.Severity), a.Description, causes); err != nil {
			return translate(err)
		}
		var err error
		out, err = anomalyScan(a.TenantID, tx.QueryRow(ctx, `SELECT `+anomalyColumns+` FROM anomalies WHERE id = $1 AND deleted_at IS NULL`, a.ID))
		return translate(err)
	})
	return out, anomalyNotFound(err)
}
