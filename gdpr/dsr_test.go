package gdpr_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

func TestDSRDeadlines(t *testing.T) {
	at := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		require.NoError(t, err)
		return d.Add(9 * time.Hour)
	}
	for _, c := range []struct{ received, due, extended string }{
		// 31 January -> 28 February 2026 (a Saturday) -> Monday 2 March; +3 months: 30 April.
		{"2026-01-31", "2026-03-02", "2026-04-30"},
		// Leap year: 31 January 2028 -> 29 February (a Tuesday); 30 April 2028 is a Sunday -> 1 May.
		{"2028-01-31", "2028-02-29", "2028-05-01"},
		// 30 April -> 30 May 2026 (a Saturday) -> 1 June; +3 months: 30 July (Thursday).
		{"2026-04-30", "2026-06-01", "2026-07-30"},
		// 30 November 2026 -> 30 December; +3: 28 February 2027 (a Sunday) -> 1 March.
		{"2026-11-30", "2026-12-30", "2027-03-01"},
	} {
		r := at(c.received)
		require.Equal(t, at(c.due), gdpr.DueDate(r), c.received)
		require.Equal(t, at(c.extended), gdpr.Deadline(r, 3), c.received)
	}
}

func dsrCreate(t *testing.T, e *env, in gdpr.DSRInput) gdpr.DSR {
	t.Helper()
	d, err := e.svc.CreateDSR(context.Background(), e.tenant, in)
	require.NoError(t, err)
	return d
}

func verifyEvidence(t *testing.T, e *env, d gdpr.DSR) gdpr.Evidence {
	t.Helper()
	require.NotNil(t, d.Evidence)
	ev, err := d.Evidence.Verify(e.svc.PublicKey())
	require.NoError(t, err)
	require.Equal(t, d.ID, ev.RequestID)
	require.Equal(t, d.Status, ev.Status)
	return ev
}

func TestDSRLifecycleOfEachType(t *testing.T) {
	ctx := eusaas.WithActor(context.Background(), eusaas.Actor{Kind: eusaas.ActorUser, ID: "admin"})

	t.Run("ACCESS", func(t *testing.T) {
		e := newEnv(t)
		d := dsrCreate(t, e, gdpr.DSRInput{Type: gdpr.DSRAccess, SubjectID: "u1", Email: "U1@example.eu"})
		require.Equal(t, gdpr.DSRReceived, d.Status)
		require.Equal(t, time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), d.DueAt, "31 Jan -> 28 Feb, a Saturday -> Monday")
		_, err := e.svc.CompleteDSR(ctx, e.tenant, d.ID, "")
		require.ErrorIs(t, err, gdpr.ErrDSRState, "not before the identity check")
		d, err = e.svc.VerifyIdentity(ctx, e.tenant, d.ID, "", "signed-in account")
		require.NoError(t, err)
		require.Equal(t, gdpr.DSRInProgress, d.Status)
		require.NotEmpty(t, d.JobID)
		_, err = e.svc.CompleteDSR(ctx, e.tenant, d.ID, "")
		require.ErrorIs(t, err, gdpr.ErrDSRState, "not before the export finished")
		e.runner.WorkAvailable(ctx)
		d, err = e.svc.DSR(ctx, e.tenant, d.ID)
		require.NoError(t, err)
		require.Equal(t, gdpr.DSRCompleted, d.Status, "completes with its export")
		job, err := e.svc.Request(ctx, e.tenant, gdpr.KindExport, d.JobID)
		require.NoError(t, err)
		require.Equal(t, []string{"u1"}, job.Subjects)
		require.True(t, job.IncludeAuditLogs, "Art. 15 includes the audit entries about the subject")
		ev := verifyEvidence(t, e, d)
		require.Equal(t, job.ArchiveSHA256, ev.Job.ArchiveSHA256)
		require.Equal(t, job.Counts, ev.Counts)
		require.Len(t, ev.EmailSHA256, 64)
		require.NotContains(t, string(d.Evidence.Evidence), "example.eu", "no e-mail address in the evidence")
		var events []string
		for _, x := range ev.Timeline {
			events = append(events, x.Event)
		}
		require.Equal(t, []string{gdpr.EventReceived, gdpr.EventIdentityVerified, gdpr.EventActionStarted, gdpr.EventCompleted}, events)
		require.True(t, ev.OnTime)
		require.Equal(t, 1, e.rec.Count(e.tenant, gdpr.ActionDSRCompleted))
	})

	t.Run("PORTABILITY", func(t *testing.T) {
		e := newEnv(t)
		d := dsrCreate(t, e, gdpr.DSRInput{Type: gdpr.DSRPortability, Email: "u2@example.eu", Format: "CSV"})
		require.Equal(t, gdpr.DSRIdentityPending, d.Status, "an e-mail only: the subject is still to be identified")
		_, err := e.svc.VerifyIdentity(ctx, e.tenant, d.ID, "", "")
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "the subject must be named")
		_, err = e.svc.VerifyIdentity(ctx, e.tenant, d.ID, "nobody", "")
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "an unknown subject is refused")
		d, err = e.svc.VerifyIdentity(ctx, e.tenant, d.ID, "u2", "e-mail confirmation")
		require.NoError(t, err)
		e.runner.WorkAvailable(ctx)
		d, err = e.svc.DSR(ctx, e.tenant, d.ID)
		require.NoError(t, err)
		require.Equal(t, gdpr.DSRCompleted, d.Status)
		ev := verifyEvidence(t, e, d)
		require.Equal(t, gdpr.FormatCSV, ev.Job.Format)
		require.Equal(t, "u2", ev.SubjectID)
	})

	t.Run("ERASURE", func(t *testing.T) {
		e := newEnv(t)
		d := dsrCreate(t, e, gdpr.DSRInput{Type: gdpr.DSRErasure, SubjectID: "u3", Email: "u3@example.eu", Details: "delete me"})
		d, err := e.svc.VerifyIdentity(ctx, e.tenant, d.ID, "u3", "id document checked")
		require.NoError(t, err)
		e.runner.WorkAvailable(ctx)
		d, err = e.svc.DSR(ctx, e.tenant, d.ID)
		require.NoError(t, err)
		require.Equal(t, gdpr.DSRCompleted, d.Status)
		require.Equal(t, []string{"u3"}, e.erased.users)
		ev := verifyEvidence(t, e, d)
		require.NotNil(t, ev.Job.Certificate, "the erasure certificate travels in the evidence")
		c, err := ev.Job.Certificate.Verify(e.svc.PublicKey())
		require.NoError(t, err)
		require.Equal(t, "u3", c.SubjectID)
		require.Equal(t, c.Counts, ev.Counts)
		stored, err := e.svc.DSR(ctx, e.tenant, d.ID)
		require.NoError(t, err)
		require.Empty(t, stored.Email, "the erasure removed the contact from the request")
		require.Len(t, ev.EmailSHA256, 64, "the evidence keeps its digest")
		// A second erasure request of the erased subject is fulfilled by that erasure.
		d2 := dsrCreate(t, e, gdpr.DSRInput{Type: gdpr.DSRErasure, Email: "u3@example.eu"})
		d2, err = e.svc.VerifyIdentity(ctx, e.tenant, d2.ID, "u3", "")
		require.NoError(t, err)
		require.Equal(t, gdpr.DSRCompleted, d2.Status)
		require.Equal(t, d.JobID, d2.JobID)
	})

	t.Run("RESTRICTION", func(t *testing.T) {
		e := newEnv(t)
		d := dsrCreate(t, e, gdpr.DSRInput{Type: gdpr.DSRRestriction, SubjectID: "u1", Details: "accuracy contested"})
		d, err := e.svc.VerifyIdentity(ctx, e.tenant, d.ID, "", "")
		require.NoError(t, err)
		require.Equal(t, gdpr.DSRCompleted, d.Status)
		verifyEvidence(t, e, d)
		subjects, err := e.svc.RestrictedSubjects(ctx, e.tenant)
		require.NoError(t, err)
		require.Equal(t, []string{"u1"}, subjects)
	})

	for _, typ := range []gdpr.DSRType{gdpr.DSRRectification, gdpr.DSRObjection} {
		t.Run(string(typ), func(t *testing.T) {
			e := newEnv(t)
			d := dsrCreate(t, e, gdpr.DSRInput{Type: typ, SubjectID: "u1"})
			d, err := e.svc.VerifyIdentity(ctx, e.tenant, d.ID, "", "")
			require.NoError(t, err)
			require.Equal(t, gdpr.DSRInProgress, d.Status)
			_, err = e.svc.CompleteDSR(ctx, e.tenant, d.ID, " ")
			require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "the outcome is required")
			d, err = e.svc.CompleteDSR(ctx, e.tenant, d.ID, "corrected the postal address")
			require.NoError(t, err)
			ev := verifyEvidence(t, e, d)
			require.Equal(t, "corrected the postal address", ev.Outcome)
			_, err = e.svc.CompleteDSR(ctx, e.tenant, d.ID, "again")
			require.ErrorIs(t, err, gdpr.ErrDSRState)
		})
	}
}

func TestDSRExtendRejectAndOverdue(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	d := dsrCreate(t, e, gdpr.DSRInput{Type: gdpr.DSRAccess, SubjectID: "u1"})
	late := dsrCreate(t, e, gdpr.DSRInput{Type: gdpr.DSRObjection, SubjectID: "u2"})
	rejected := dsrCreate(t, e, gdpr.DSRInput{Type: gdpr.DSRAccess, SubjectID: "u3"})

	_, err := e.svc.ExtendDSR(ctx, e.tenant, d.ID, "")
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	d, err = e.svc.ExtendDSR(ctx, e.tenant, d.ID, "many systems to search")
	require.NoError(t, err)
	require.Equal(t, gdpr.DSRExtended, d.Status)
	require.Equal(t, time.Date(2026, 4, 30, 10, 0, 0, 0, time.UTC), d.ExtendedDueAt, "three months after receipt")
	require.Equal(t, gdpr.EventExtended, d.Timeline[len(d.Timeline)-1].Event)
	require.Contains(t, d.Timeline[len(d.Timeline)-1].Note, "notice")
	_, err = e.svc.ExtendDSR(ctx, e.tenant, d.ID, "again")
	require.ErrorIs(t, err, gdpr.ErrDSRState, "once only")

	rejected, err = e.svc.RejectDSR(ctx, e.tenant, rejected.ID, "manifestly excessive: the fifth identical request this month")
	require.NoError(t, err)
	require.Equal(t, gdpr.DSRRejected, rejected.Status)
	verifyEvidence(t, e, rejected)
	_, err = e.svc.VerifyIdentity(ctx, e.tenant, rejected.ID, "", "")
	require.ErrorIs(t, err, gdpr.ErrDSRState)

	// Six days before the deadline of the unextended one: due soon, nothing overdue.
	e.clock.Set(late.DueAt.Add(-6 * 24 * time.Hour))
	overdue, soon, err := e.svc.DSRDeadlines(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 1}, [2]int{overdue, soon})

	e.clock.Set(late.DueAt.Add(time.Second))
	_, err = e.svc.ExtendDSR(ctx, e.tenant, late.ID, "too late")
	require.ErrorIs(t, err, gdpr.ErrDSRState, "an extension must be notified before due_at")
	overdue, soon, err = e.svc.DSRDeadlines(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int{1, 0}, [2]int{overdue, soon}, "the extended one is not overdue")
	list, err := e.svc.DSRs(ctx, e.tenant, gdpr.DSRFilter{}, true)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, late.ID, list[0].ID)

	// Completed late: the evidence says so.
	_, err = e.svc.VerifyIdentity(ctx, e.tenant, late.ID, "", "")
	require.NoError(t, err)
	late, err = e.svc.CompleteDSR(ctx, e.tenant, late.ID, "processing for direct marketing stopped")
	require.NoError(t, err)
	require.False(t, verifyEvidence(t, e, late).OnTime)
}

func TestDSREvidenceTamperingRefused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	d := dsrCreate(t, e, gdpr.DSRInput{Type: gdpr.DSRErasure, SubjectID: "u1"})
	_, err := e.svc.VerifyIdentity(ctx, e.tenant, d.ID, "", "")
	require.NoError(t, err)
	e.runner.WorkAvailable(ctx)
	d, err = e.svc.DSR(ctx, e.tenant, d.ID)
	require.NoError(t, err)
	verifyEvidence(t, e, d)

	var doc map[string]any
	require.NoError(t, json.Unmarshal(d.Evidence.Evidence, &doc))
	doc["on_time"], doc["completed_at"] = true, "2026-02-01T00:00:00Z"
	forged := *d.Evidence
	forged.Evidence, _ = json.Marshal(doc)
	_, err = forged.Verify(e.svc.PublicKey())
	require.Error(t, err, "an edited bundle is refused")

	other := newEnv(t)
	_, err = d.Evidence.Verify(other.svc.PublicKey())
	require.Error(t, err, "another key is refused")

	// A certificate signature is no evidence signature (domain separation).
	job, err := e.svc.Request(ctx, e.tenant, gdpr.KindSubjectErasure, d.JobID)
	require.NoError(t, err)
	asEvidence := gdpr.SignedEvidence{Evidence: job.Certificate.Certificate, Algorithm: "Ed25519", Signature: job.Certificate.Signature}
	_, err = asEvidence.Verify(e.svc.PublicKey())
	require.Error(t, err)
}

func TestDSRInputValidation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	for name, in := range map[string]gdpr.DSRInput{
		"no type":          {SubjectID: "u1"},
		"unknown type":     {Type: "DELETE_ALL", SubjectID: "u1"},
		"no subject":       {Type: gdpr.DSRAccess},
		"bad email":        {Type: gdpr.DSRAccess, Email: "not an address"},
		"unknown subject":  {Type: gdpr.DSRAccess, SubjectID: "ghost"},
		"format on rectif": {Type: gdpr.DSRRectification, SubjectID: "u1", Format: "csv"},
		"bad format":       {Type: gdpr.DSRAccess, SubjectID: "u1", Format: "pdf"},
	} {
		_, err := e.svc.CreateDSR(ctx, e.tenant, in)
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), name)
	}
	_, err := e.svc.DSR(ctx, e.tenant, "not-a-uuid")
	require.ErrorIs(t, err, gdpr.ErrDSRNotFound)
	d := dsrCreate(t, e, gdpr.DSRInput{Type: gdpr.DSRAccess, SubjectID: "u1"})
	_, err = e.svc.DSR(ctx, eusaas.NewTenantID(), d.ID)
	require.ErrorIs(t, err, gdpr.ErrDSRNotFound, "another tenant's request")
	_, err = e.svc.DSRs(ctx, e.tenant, gdpr.DSRFilter{Status: "LOST"}, false)
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
}

func TestDSRCreatedByExportAndErasureEndpoints(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	exp, err := e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{Subjects: []string{"u1"}})
	require.NoError(t, err)
	er, _, err := e.svc.RequestErasure(ctx, e.tenant, "u2", "asked by e-mail")
	require.NoError(t, err)
	_, err = e.svc.RequestExport(ctx, e.tenant, gdpr.ExportRequest{}) // the tenant's own export: no DSR
	require.NoError(t, err)
	ds, err := e.svc.DSRs(ctx, e.tenant, gdpr.DSRFilter{}, false)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.Equal(t, [2]gdpr.DSRType{gdpr.DSRPortability, gdpr.DSRErasure}, [2]gdpr.DSRType{ds[0].Type, ds[1].Type})
	require.Equal(t, [2]string{exp.ID, er.ID}, [2]string{ds[0].JobID, ds[1].JobID})
	e.runner.WorkAvailable(ctx)
	ds, err = e.svc.DSRs(ctx, e.tenant, gdpr.DSRFilter{Status: gdpr.DSRCompleted}, false)
	require.NoError(t, err)
	require.Len(t, ds, 2)
}
