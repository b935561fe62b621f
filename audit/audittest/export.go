package audittest

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

// flakySink collects what it is sent and fails the sends it is told to.
type flakySink struct {
	got  []audit.Entry
	fail map[int]bool // by call number, from 1
	n    int
}

func (f *flakySink) Send(_ context.Context, es []audit.Entry) error {
	f.n++
	if f.fail[f.n] {
		return errors.New("receiver down")
	}
	f.got = append(f.got, es...)
	return nil
}

// testExport: the exporter ships every entry of every chain once, in order, resumes from
// its cursor after a failed send and after a restart (a new exporter of the same name), and
// strips personal values unless told otherwise.
func testExport(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{})
	cursors, ok := e.Store.(audit.CursorStore)
	if !ok {
		t.Skip("the store keeps no export cursors")
	}
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	for i := range 23 {
		ev := event(a, audit.ActionUpdate, i)
		ev.Meta = eusaas.RequestMeta{IP: "203.0.113.5"}
		require.NoError(t, e.svc.Record(ctx, ev))
	}
	e.record(t, b, 4)
	sink := &flakySink{fail: map[int]bool{2: true}}
	x := &audit.Exporter{Store: e.Store, Cursors: cursors, Sink: sink, Name: "suite-" + a.String(), Batch: 10}
	_, err := x.ExportOnce(ctx)
	require.Error(t, err, "the second send fails")
	n, err := x.ExportOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 27-10, n, "resumes after the 10 accepted")
	x2 := &audit.Exporter{Store: e.Store, Cursors: cursors, Sink: sink, Name: x.Name, Batch: 10}
	n, err = x2.ExportOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a restarted exporter resumes from the stored cursor")
	e.record(t, a, 2)
	n, err = x2.ExportOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	next := map[eusaas.TenantID]int64{}
	for _, en := range sink.got {
		next[en.Chain]++
		require.Equal(t, next[en.Chain], en.Seq, "in order, no gaps, no duplicates")
		for _, f := range en.Personal {
			require.Empty(t, f.Value, "personal values stay home by default")
		}
	}
	require.Equal(t, int64(25), next[a])
	require.Equal(t, int64(4), next[b])
	c, err := cursors.ExportCursor(ctx, x.Name, a)
	require.NoError(t, err)
	require.Equal(t, int64(25), c)
	require.NoError(t, cursors.SetExportCursor(ctx, x.Name, a, 3))
	c, err = cursors.ExportCursor(ctx, x.Name, a)
	require.NoError(t, err)
	require.Equal(t, int64(25), c, "a cursor never moves back")
}
