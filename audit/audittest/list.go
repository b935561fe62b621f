package audittest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

func testListFiltersAndPages(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Parallel()
	e := newEnv(t, h, audit.Options{})
	tenant := eusaas.NewTenantID()
	start := e.clock.Now()
	for i := range 7 {
		ev := event(tenant, audit.ActionUpdate, i)
		if i%2 == 0 {
			ev.Action = audit.ActionLogin
			ev.ResourceType = "session"
			ev.Actor.ID = "user-2"
		}
		require.NoError(t, e.svc.Record(ctx, ev))
		e.clock.Advance(time.Hour)
	}
	l, err := e.svc.List(ctx, tenant, audit.Filter{}, eusaas.Page{Page: 1, Size: 3})
	require.NoError(t, err)
	require.Equal(t, 7, l.Total)
	require.Len(t, l.Items, 3)
	require.Equal(t, []int64{7, 6, 5}, seqs(l.Items), "newest first")
	l, err = e.svc.List(ctx, tenant, audit.Filter{}, eusaas.Page{Page: 3, Size: 3})
	require.NoError(t, err)
	require.Equal(t, []int64{1}, seqs(l.Items))
	l, err = e.svc.List(ctx, tenant, audit.Filter{Action: audit.ActionLogin}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, []int64{7, 5, 3, 1}, seqs(l.Items))
	l, err = e.svc.List(ctx, tenant, audit.Filter{ResourceType: "invoice"}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, []int64{6, 4, 2}, seqs(l.Items))
	l, err = e.svc.List(ctx, tenant, audit.Filter{UserID: "user-2"}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, 4, l.Total)
	l, err = e.svc.List(ctx, tenant, audit.Filter{Since: start.Add(2 * time.Hour), Until: start.Add(4 * time.Hour)}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, []int64{4, 3}, seqs(l.Items), "since inclusive, until exclusive")
	_, err = e.svc.List(ctx, tenant, audit.Filter{}, eusaas.Page{Page: 1, Size: 101})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
}

func seqs(es []audit.Entry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}
