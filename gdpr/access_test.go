package gdpr_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// testDataMap is the env's data map: one entry per env table with personal data, one of a
// table the env has not (left out of answers) and one platform record.
var testDataMap = []gdpr.DataMapEntry{
	{Module: "auth", Store: "users", DataCategories: []string{"e-mail address"}, SubjectCategories: []string{"users"},
		Purpose: "authentication", Retention: "while the account exists", Erasure: "subject erasure"},
	{Module: "notes", Store: "notes", DataCategories: []string{"notes"}, SubjectCategories: []string{"users"},
		Purpose: "the notes feature", Retention: "pii_retention_days", Erasure: "subject erasure"},
	{Module: "other", Store: "elsewhere", DataCategories: []string{"x"}, SubjectCategories: []string{"y"},
		Purpose: "not this export", Retention: "-", Erasure: "-"},
	{Module: "audit", Store: "eusaas.audit_personal", DataCategories: []string{"IP addresses"}, SubjectCategories: []string{"users"},
		Purpose: "accountability", Retention: "audit_log_retention_days", Erasure: "subject erasure"},
}

// The ACCESS request's export answers Art. 15(1) beside the data: processing.json names the
// purposes, categories and retention of each store of the subject's data (from the data map),
// the recipients (sub-processors), the rights and the source; it is listed in the signed
// manifest and described in schema.json. A PORTABILITY export (Art. 20) carries only data.
func TestAccessExportCarriesPurposesAndRecipients(t *testing.T) {
	ctx := eusaas.WithActor(context.Background(), eusaas.Actor{Kind: eusaas.ActorUser, ID: "admin"})
	e := newEnv(t)
	files := func(typ gdpr.DSRType) map[string][]byte {
		d := dsrCreate(t, e, gdpr.DSRInput{Type: typ, SubjectID: "u1"})
		d, err := e.svc.VerifyIdentity(ctx, e.tenant, d.ID, "", "signed-in account")
		require.NoError(t, err)
		e.runner.WorkAvailable(ctx)
		job, err := e.svc.Request(ctx, e.tenant, gdpr.KindExport, d.JobID)
		require.NoError(t, err)
		require.Equal(t, gdpr.StatusCompleted, job.Status, job.ErrorMessage)
		archive := e.download(t, job)
		res, err := gdpr.VerifyArchive(bytes.NewReader(archive), int64(len(archive)), e.svc.PublicKey())
		require.NoError(t, err)
		zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
		require.NoError(t, err)
		out := map[string][]byte{}
		for _, f := range zr.File {
			rc, err := f.Open()
			require.NoError(t, err)
			out[f.Name], err = io.ReadAll(rc)
			rc.Close()
			require.NoError(t, err)
		}
		var listed []string
		for _, mf := range res.Manifest.Files {
			listed = append(listed, mf.Name)
		}
		if _, ok := out[gdpr.AccessInfoName]; ok {
			require.Contains(t, listed, gdpr.AccessInfoName, "signed with the data")
		}
		return out
	}

	got := files(gdpr.DSRAccess)
	var info gdpr.AccessInfo
	require.NoError(t, json.Unmarshal(got[gdpr.AccessInfoName], &info))
	var stores, purposes []string
	for _, p := range info.Processing {
		stores = append(stores, p.Store)
		purposes = append(purposes, p.Purpose)
	}
	require.Equal(t, []string{"users", "notes", "eusaas.audit_personal"}, stores, "the exported tables' stores and the platform records, not others")
	require.Contains(t, purposes, "authentication")
	require.Equal(t, []gdpr.SubProcessor{{Name: "Mailer GmbH", Purpose: "e-mail delivery", Location: "DE"}}, info.Recipients)
	require.Contains(t, info.Rights, "lodging a complaint with a supervisory authority (Art. 77)")
	require.NotEmpty(t, info.Source)
	require.NotEmpty(t, info.AutomatedDecisions)
	var schema struct {
		Defs map[string]any `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(got[gdpr.SchemaName], &schema))
	require.Contains(t, schema.Defs, gdpr.AccessInfoName, "schema.json describes it")

	require.NotContains(t, files(gdpr.DSRPortability), gdpr.AccessInfoName, "Art. 20 is the data alone")
}
