package postgres

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// gdprPIIRetention bounds by pii_retention_days (cutoff: now - the period - the grace) the
// personal values of module tables that otherwise live longer than the data they serve,
// as the memory adapters do through platform.PIIRetainer:
//   - auth_sessions: the client IP and user agent of sessions opened before cutoff are
//     cleared (the session keeps working until it expires): "auth_sessions.personal_erased";
//     restricted users' (Art. 18) are kept.
//   - auth_invitations: invitations made before cutoff are deleted with the invitee's
//     e-mail address: "auth_invitations.hard_deleted".
//
// The audit log's personal values are bounded by platform.AuditRetainer, export archives by
// the gdpr service itself.
func gdprPIIRetention(ctx context.Context, tx pgx.Tx, ts []gdprTable, cutoff time.Time, restricted []string, out map[string]int) error {
	has := func(table string, cols ...string) bool {
		i := slices.IndexFunc(ts, func(t gdprTable) bool { return t.Name == table })
		if i < 0 {
			return false
		}
		for _, c := range cols {
			if !slices.Contains(ts[i].Columns, c) {
				return false
			}
		}
		return true
	}
	if has("auth_sessions", "created_at", "ip", "user_agent") {
		tag, err := tx.Exec(ctx, `UPDATE auth_sessions SET ip = '', user_agent = '' WHERE created_at < $1 AND (ip <> '' OR user_agent <> '')
			AND NOT (user_id::text = ANY($2))`, cutoff, gdprRestricted(restricted))
		if err != nil {
			return translate(err)
		}
		if n := tag.RowsAffected(); n > 0 {
			out["auth_sessions.personal_erased"] = int(n)
		}
	}
	if has("auth_invitations", "created_at") {
		tag, err := tx.Exec(ctx, `DELETE FROM auth_invitations WHERE created_at < $1`, cutoff)
		if err != nil {
			return translate(err)
		}
		if n := tag.RowsAffected(); n > 0 {
			out["auth_invitations.hard_deleted"] += int(n)
		}
	}
	return nil
}

// gdprNotRestricted is the condition keeping restricted subjects' rows (Art. 18) of a
// table with a subject column, the subjects being parameter $n; "" for other tables (the
// parameter is then unused: Postgres accepts an unreferenced parameter only when its type
// is given, so the clause always names it).
func gdprNotRestricted(t gdprTable, n int) string {
	if t.SubjectColumn == "" {
		return " AND cardinality($" + strconv.Itoa(n) + "::text[]) >= 0"
	}
	return " AND NOT (" + gdprIdent(t.SubjectColumn) + "::text = ANY($" + strconv.Itoa(n) + "::text[]))"
}

// gdprRestricted is the restricted subjects as a text[] parameter (never NULL).
func gdprRestricted(subjects []string) []string {
	if subjects == nil {
		return []string{}
	}
	return subjects
}
