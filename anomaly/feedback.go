package anomaly

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
)

// Verdict is a user's judgement of an anomaly.
type Verdict string

// Verdicts. EXPECTED and FALSE_POSITIVE mute alerts on the same series (Service) for
// ScannerOptions.FeedbackMuteDays from the feedback; CONFIRMED mutes nothing.
const (
	VerdictExpected      Verdict = "EXPECTED"
	VerdictFalsePositive Verdict = "FALSE_POSITIVE"
	VerdictConfirmed     Verdict = "CONFIRMED"
)

// Valid reports whether v is one of the three verdicts.
func (v Verdict) Valid() bool {
	switch v {
	case VerdictExpected, VerdictFalsePositive, VerdictConfirmed:
		return true
	}
	return false
}

// Mutes reports whether v mutes later alerts of the series.
func (v Verdict) Mutes() bool { return v == VerdictExpected || v == VerdictFalsePositive }

// Verdicts lists every verdict (for counters that report zeros too).
var Verdicts = []Verdict{VerdictExpected, VerdictFalsePositive, VerdictConfirmed}

// Feedback is the latest verdict given on an anomaly; a new one replaces it.
type Feedback struct {
	Verdict Verdict
	Note    string
	By      string
	At      time.Time
}

// MaxFeedbackNote bounds a feedback note (in characters).
const MaxFeedbackNote = 1000

// DefaultFeedbackMuteDays is how long EXPECTED and FALSE_POSITIVE mute a series: 30 days.
const DefaultFeedbackMuteDays = 30

// GiveFeedback records by's verdict on the anomaly (replacing an earlier one) and audits
// it. An unknown verdict or a note longer than MaxFeedbackNote is InvalidArgument.
func (s *Service) GiveFeedback(ctx context.Context, tenant eusaas.TenantID, id uuid.UUID, verdict Verdict, note, by string) (Anomaly, error) {
	var v eusaas.Violations
	if !verdict.Valid() {
		v.Add("body.verdict", "must be EXPECTED, FALSE_POSITIVE or CONFIRMED")
	}
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > MaxFeedbackNote || !utf8.ValidString(note) {
		v.Add("body.note", "must be valid text of at most 1000 characters")
	}
	if err := v.Err(); err != nil {
		return Anomaly{}, err
	}
	by = strings.TrimSpace(by)
	if by == "" {
		return Anomaly{}, eusaas.E(eusaas.InvalidArgument, "feedback needs the caller's identity")
	}
	fb := Feedback{Verdict: verdict, Note: note, By: by, At: s.clock.Now().UTC().Truncate(time.Microsecond)}
	a, err := s.store.SetFeedback(ctx, tenant, id, fb)
	if err != nil {
		return Anomaly{}, err
	}
	// The note is the user's free text: it stays on the anomaly, not in the audit trail.
	err = s.audit.Record(ctx, eusaas.AuditEvent{
		TenantID: tenant, Actor: eusaas.ActorFrom(ctx), Action: "ANOMALY_FEEDBACK",
		ResourceType: "anomaly", ResourceID: id.String(),
		Changes: map[string]any{"verdict": string(verdict), "service": a.Service, "day": a.Day.Format(time.DateOnly)},
		Meta:    eusaas.RequestMetaFrom(ctx),
	})
	if err != nil {
		return Anomaly{}, err
	}
	return a, nil
}

// FeedbackCounts returns how many of the tenant's anomalies carry each verdict (every
// verdict present, zeros included): precision as users judge it, for /metrics.
func (s *Service) FeedbackCounts(ctx context.Context, tenant eusaas.TenantID) (map[Verdict]int, error) {
	got, err := s.store.FeedbackCounts(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make(map[Verdict]int, len(Verdicts))
	for _, v := range Verdicts {
		out[v] = got[v]
	}
	return out, nil
}
