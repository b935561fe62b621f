package platform_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/jobs/memjobs"
	"github.com/eusaas/eusaas/platform"
	"github.com/eusaas/eusaas/tenancy"
)

// placer is a Placer of configuration: it places (or refuses) without any storage, and
// remembers whom it was asked to place.
type placer struct {
	mu     sync.Mutex
	placed []eusaas.TenantID
	label  string // when set: places nothing, answering this reason
	fail   error
}

func (p *placer) PlaceTenant(_ context.Context, id eusaas.TenantID) (bool, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return false, "", p.fail
	}
	if p.label != "" {
		return false, p.label, nil
	}
	p.placed = append(p.placed, id)
	return true, "", nil
}

func newPlacedPlatform(t *testing.T, pl platform.Placer) (*platform.Platform, *memjobs.Runner) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keys, err := auth.NewKeySet(key, eusaas.SystemClock)
	require.NoError(t, err)
	_, signer, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	stores, runner := platform.Memory(nil)
	stores.Placer = pl
	p, err := platform.New(context.Background(), stores, platform.Config{AuthKeys: keys, GDPR: gdpr.Options{SigningKey: signer}})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p, runner
}

func actionsOf(t *testing.T, p *platform.Platform, id eusaas.TenantID, action string) []audit.Entry {
	t.Helper()
	l, err := p.Audit.List(context.Background(), id, audit.Filter{Action: action}, eusaas.Page{Page: 1, Size: 100})
	require.NoError(t, err)
	return l.Items
}

// A region change enqueues tenancy.move_region with the change. Without a Placer (memory
// mode, like vanilla PostgreSQL) the job records that the region is a label only; with one
// it places the tenant and records nothing itself (the Placer audits TENANT_PLACED); a
// failing Placer fails the job, which is retried.
func TestTenancyMoveRegionJob(t *testing.T) {
	ctx := context.Background()
	p, runner := newPlacedPlatform(t, nil)
	require.Contains(t, p.Jobs.Kinds(), platform.JobMoveRegion)
	res, err := p.Tenancy.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "o@acme.eu"})
	require.NoError(t, err)
	id := res.Tenant.ID
	_, err = p.Tenancy.Update(ctx, id, tenancy.UpdateInput{Region: ptrTo("eu-west-1")})
	require.NoError(t, err)
	require.Empty(t, actionsOf(t, p, id, tenancy.ActionRegionLabelOnly), "the move runs as a job")
	runner.WorkAvailable(ctx)
	got := actionsOf(t, p, id, tenancy.ActionRegionLabelOnly)
	require.Len(t, got, 1)
	require.JSONEq(t, `{"data_residency_region":"eu-west-1","reason":"this deployment stores every tenant's data in one place: data_residency_region is a label only"}`, string(got[0].Changes))

	pl := &placer{}
	p, runner = newPlacedPlatform(t, pl)
	res, err = p.Tenancy.Create(ctx, tenancy.CreateInput{Name: "Beta", Slug: "beta", AdminEmail: "o@beta.eu"})
	require.NoError(t, err)
	id = res.Tenant.ID
	_, err = p.Tenancy.Update(ctx, id, tenancy.UpdateInput{Region: ptrTo("eu-north-1")})
	require.NoError(t, err)
	runner.WorkAvailable(ctx)
	require.Equal(t, []eusaas.TenantID{id}, pl.placed)
	require.Empty(t, actionsOf(t, p, id, tenancy.ActionRegionLabelOnly))

	// A Placer that places nothing by region (Citus without labels) says why.
	pl.label = "no Citus node is labelled with a region"
	require.NoError(t, p.MoveRegion(ctx, id))
	got = actionsOf(t, p, id, tenancy.ActionRegionLabelOnly)
	require.Len(t, got, 1)
	require.JSONEq(t, `{"data_residency_region":"eu-north-1","reason":"no Citus node is labelled with a region"}`, string(got[0].Changes))

	pl.label, pl.fail = "", errors.New("citus_schema_move failed")
	require.ErrorContains(t, p.MoveRegion(ctx, id), "citus_schema_move failed")

	// A tenant being erased is not moved.
	pl.fail = nil
	_, err = p.Tenancy.Suspend(ctx, id)
	require.NoError(t, err)
	require.NoError(t, p.Tenancy.BeginDeprovision(ctx, id))
	require.NoError(t, p.MoveRegion(ctx, id))
	require.Len(t, pl.placed, 1)
}

func ptrTo[T any](v T) *T { return &v }
