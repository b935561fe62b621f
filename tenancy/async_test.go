package tenancy_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/jobs/memjobs"
	"github.com/eusaas/eusaas/memtx"
	"github.com/eusaas/eusaas/tenancy"
	"github.com/eusaas/eusaas/tenancy/memtenancy"
)

// drafter is an InvitationDrafter that keeps what was saved, the way auth stores it.
type drafter struct {
	mu    sync.Mutex
	saved map[eusaas.TenantID]tenancy.InvitationDraft
	fail  error
}

func (d *drafter) IssueOwnerInvitation(context.Context, eusaas.TenantID, string) (string, time.Time, error) {
	return "", time.Time{}, errors.New("asynchronous provisioning must not issue synchronously")
}

func (d *drafter) DraftOwnerInvitation(_ context.Context, tenant eusaas.TenantID, _ string) (string, tenancy.InvitationDraft, error) {
	return "tok-" + tenant.Hex(), tenancy.InvitationDraft{ID: "inv-" + tenant.Hex(), Digest: []byte("h-" + tenant.Hex()),
		CreatedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), ExpiresAt: time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC)}, nil
}

func (d *drafter) SaveOwnerInvitation(_ context.Context, tenant eusaas.TenantID, _ string, dr tenancy.InvitationDraft) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return d.fail
	}
	d.saved[tenant] = dr
	return nil
}

type asyncFixture struct {
	svc    *tenancy.Service
	prov   *memtenancy.Provisioner
	rec    *recorder
	inv    *drafter
	runner *memjobs.Runner
	clock  *eusaas.FakeClock
}

func newAsyncFixture(t *testing.T) *asyncFixture {
	t.Helper()
	f := &asyncFixture{prov: memtenancy.NewProvisioner(3), rec: &recorder{},
		inv:   &drafter{saved: map[eusaas.TenantID]tenancy.InvitationDraft{}},
		clock: eusaas.NewFakeClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))}
	reg := jobs.NewRegistry()
	f.runner = memjobs.NewRunner(reg, memjobs.Options{Clock: f.clock})
	svc, err := tenancy.NewService(tenancy.Deps{Store: memtenancy.NewStore(), Provisioner: f.prov, Recorder: f.rec,
		Tx: memtx.NewTxRunner(), Cache: memtenancy.NewCache(time.Hour, f.clock), Invitations: f.inv, Queue: f.runner},
		tenancy.Options{Clock: f.clock, AsyncProvisioning: true})
	require.NoError(t, err)
	svc.RegisterJobs(reg)
	f.svc = svc
	return f
}

// With AsyncProvisioning, Create answers with the tenant PROVISIONING and its invitation
// token before any schema exists; the job makes the schema, stores the invitation and
// activates the tenant, and the audit trail is the synchronous one.
func TestAsyncProvisioning(t *testing.T) {
	ctx := context.Background()
	f := newAsyncFixture(t)
	res, err := f.svc.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "owner@acme.example"})
	require.NoError(t, err)
	id := res.Tenant.ID
	require.Equal(t, tenancy.StatusProvisioning, res.Tenant.Status)
	require.Equal(t, "tok-"+id.Hex(), res.Invitation.Token)
	require.Equal(t, time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC), res.Invitation.ExpiresAt)
	_, exists := f.prov.SchemaVersion(id)
	require.False(t, exists, "no schema before the job ran")
	require.Empty(t, f.inv.saved)
	got, err := f.svc.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusProvisioning, got.Status)

	require.Equal(t, 1, f.runner.WorkAvailable(ctx))
	got, err = f.svc.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusActive, got.Status)
	v, exists := f.prov.SchemaVersion(id)
	require.True(t, exists)
	require.Equal(t, 3, v)
	require.Equal(t, "inv-"+id.Hex(), f.inv.saved[id].ID)
	require.Equal(t, []string{tenancy.ActionCreated, tenancy.ActionProvisioning, tenancy.ActionProvisioned}, f.rec.actions())

	// A used slug is refused at once, and no job is left behind for it.
	_, err = f.svc.Create(ctx, tenancy.CreateInput{Name: "Again", Slug: "acme", AdminEmail: "x@acme.example"})
	require.ErrorIs(t, err, tenancy.ErrSlugTaken)
	require.Equal(t, 0, f.runner.WorkAvailable(ctx))
}

// A provisioning that keeps failing is retried, then ends the tenant DELETED with its
// schema dropped; one that recovers before the last attempt ends ACTIVE.
func TestAsyncProvisioningFailure(t *testing.T) {
	ctx := context.Background()
	f := newAsyncFixture(t)
	f.inv.fail = eusaas.E(eusaas.Unavailable, "auth store down")
	res, err := f.svc.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "owner@acme.example"})
	require.NoError(t, err)
	bad := res.Tenant.ID
	for range 5 {
		f.runner.WorkAvailable(ctx)
		f.clock.Advance(time.Hour)
	}
	got, err := f.svc.Get(ctx, bad)
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusDeleted, got.Status)
	require.Contains(t, got.StatusReason, "owner invitation failed")
	_, exists := f.prov.SchemaVersion(bad)
	require.False(t, exists, "the schema of a failed provisioning is dropped")

	f.inv.fail = eusaas.E(eusaas.Unavailable, "auth store down")
	res, err = f.svc.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "owner@acme.example"})
	require.NoError(t, err, "the failed tenant's slug is free again")
	f.runner.WorkAvailable(ctx)
	f.inv.fail = nil
	f.clock.Advance(time.Hour)
	f.runner.WorkAvailable(ctx)
	got, err = f.svc.Get(ctx, res.Tenant.ID)
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusActive, got.Status)
}

// AsyncProvisioning without a queue, or with an issuer that cannot draft, is a wiring error.
func TestAsyncProvisioningWiring(t *testing.T) {
	_, err := tenancy.NewService(tenancy.Deps{Store: memtenancy.NewStore(), Provisioner: memtenancy.NewProvisioner(1)},
		tenancy.Options{AsyncProvisioning: true})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	require.ErrorContains(t, err, "Queue")
	_, err = tenancy.NewService(tenancy.Deps{Store: memtenancy.NewStore(), Provisioner: memtenancy.NewProvisioner(1),
		Queue: memjobs.NewRunner(jobs.NewRegistry(), memjobs.Options{}), Invitations: &issuer{}},
		tenancy.Options{AsyncProvisioning: true})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
}
