package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/memtx"
	"github.com/eusaas/eusaas/tenancy"
	"github.com/eusaas/eusaas/tenancy/memtenancy"
)

// recorder keeps audit events; fail makes the next Record calls fail.
type recorder struct {
	mu     sync.Mutex
	events []eusaas.AuditEvent
	fail   error
}

func (r *recorder) Record(ctx context.Context, ev eusaas.AuditEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.events = append(r.events, ev)
	memtx.OnRollback(ctx, func() {
		r.mu.Lock()
		r.events = r.events[:len(r.events)-1]
		r.mu.Unlock()
	})
	return nil
}

func (r *recorder) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Action)
	}
	return out
}

type issuer struct {
	mu     sync.Mutex
	issued map[eusaas.TenantID]string
	fail   error
}

func (i *issuer) IssueOwnerInvitation(_ context.Context, tenant eusaas.TenantID, email string) (string, time.Time, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.fail != nil {
		return "", time.Time{}, i.fail
	}
	i.issued[tenant] = email
	return "tok-" + tenant.Hex(), time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), nil
}

type fixture struct {
	svc   *tenancy.Service
	store *memtenancy.Store
	prov  *memtenancy.Provisioner
	cache *memtenancy.Cache
	rec   *recorder
	inv   *issuer
	clock *eusaas.FakeClock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		store: memtenancy.NewStore(),
		prov:  memtenancy.NewProvisioner(3),
		rec:   &recorder{},
		inv:   &issuer{issued: map[eusaas.TenantID]string{}},
		clock: eusaas.NewFakeClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)),
	}
	f.cache = memtenancy.NewCache(time.Hour, f.clock)
	svc, err := tenancy.NewService(tenancy.Deps{
		Store: f.store, Provisioner: f.prov, Recorder: f.rec, Tx: memtx.NewTxRunner(), Cache: f.cache, Invitations: f.inv,
	}, tenancy.Options{Clock: f.clock})
	require.NoError(t, err)
	f.svc = svc
	return f
}

func (f *fixture) create(t *testing.T, slug string) tenancy.Tenant {
	t.Helper()
	res, err := f.svc.Create(context.Background(), tenancy.CreateInput{Name: "Org " + slug, Slug: slug, AdminEmail: "owner@" + slug + ".example"})
	require.NoError(t, err)
	return res.Tenant
}

// force puts a tenant straight into status st in the store, bypassing the lifecycle, so every
// source status can be tested.
func (f *fixture) force(t *testing.T, slug string, st tenancy.Status) tenancy.Tenant {
	t.Helper()
	x := f.create(t, slug)
	x.Status = st
	x, err := f.store.Update(context.Background(), x)
	require.NoError(t, err)
	require.NoError(t, f.cache.Invalidate(context.Background(), x.ID))
	return x
}

func TestTransitionTable(t *testing.T) {
	// Exactly the edges of SPEC.md, nothing else.
	allowed := map[[2]tenancy.Status]bool{
		{tenancy.StatusPending, tenancy.StatusProvisioning}:     true,
		{tenancy.StatusPending, tenancy.StatusDeleted}:          true,
		{tenancy.StatusProvisioning, tenancy.StatusActive}:      true,
		{tenancy.StatusProvisioning, tenancy.StatusDeleted}:     true,
		{tenancy.StatusActive, tenancy.StatusSuspended}:         true,
		{tenancy.StatusActive, tenancy.StatusDeprovisioning}:    true,
		{tenancy.StatusSuspended, tenancy.StatusActive}:         true,
		{tenancy.StatusSuspended, tenancy.StatusDeprovisioning}: true,
		{tenancy.StatusDeprovisioning, tenancy.StatusDeleted}:   true,
	}
	for _, from := range tenancy.Statuses {
		for _, to := range tenancy.Statuses {
			require.Equal(t, allowed[[2]tenancy.Status{from, to}], from.CanTransitionTo(to), "%s -> %s", from, to)
		}
	}
	require.False(t, tenancy.Status("BOGUS").Valid())
}

func TestCreate(t *testing.T) {
	f := newFixture(t)
	ctx := eusaas.WithActor(context.Background(), eusaas.Actor{Kind: eusaas.ActorOperator, ID: "op-1"})
	res, err := f.svc.Create(ctx, tenancy.CreateInput{
		Name: "Acme", Slug: "acme", AdminEmail: "owner@acme.example", Metadata: map[string]string{"crm": "1"},
	})
	require.NoError(t, err)
	tn := res.Tenant
	require.Equal(t, tenancy.StatusActive, tn.Status)
	require.Equal(t, tenancy.TierFree, tn.Tier)
	require.Equal(t, "eu-central-1", tn.Region)
	require.Equal(t, tn.ID.SchemaName(), tn.SchemaName)
	require.Equal(t, tenancy.DefaultSettings(), tn.Settings)
	require.Equal(t, 50, tn.Settings.MaxUsers)
	require.True(t, tn.Settings.CostAlertThreshold.Equal(decimal.NewFromInt(1000)))
	require.False(t, tn.Settings.AllowSelfRegistration)
	require.Equal(t, int64(3), tn.Version, "created, provisioning, active")
	v, ok := f.prov.SchemaVersion(tn.ID)
	require.True(t, ok, "schema created")
	require.Equal(t, 3, v, "and migrated")
	require.Equal(t, "owner@acme.example", f.inv.issued[tn.ID])
	require.Equal(t, "tok-"+tn.ID.Hex(), res.Invitation.Token)
	require.False(t, res.Invitation.ExpiresAt.IsZero())
	require.Equal(t, []string{tenancy.ActionCreated, tenancy.ActionProvisioning, tenancy.ActionProvisioned}, f.rec.actions())
	ev := f.rec.events[0]
	require.Equal(t, tn.ID, ev.TenantID)
	require.Equal(t, "op-1", ev.Actor.ID)
	require.Equal(t, tenancy.ResourceType, ev.ResourceType)
	require.Equal(t, "owner@acme.example", ev.Personal["admin_email"])
	require.NotContains(t, fmt.Sprint(ev.Changes), "owner@", "personal data stays out of the chained changes")
	require.Equal(t, map[string]any{"from": "PROVISIONING", "to": "ACTIVE"}, f.rec.events[2].Changes)
	for _, e := range f.rec.events {
		require.NotContains(t, fmt.Sprint(e), res.Invitation.Token, "the invitation token is never recorded")
	}
}

func TestCreateInvalidInputChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.create(t, "taken")
	cases := []struct {
		in  tenancy.CreateInput
		loc string
	}{
		{tenancy.CreateInput{Name: "X", Slug: "Bad_Slug", AdminEmail: "a@b.example"}, "body.slug"},
		{tenancy.CreateInput{Name: "X", Slug: "a", AdminEmail: "a@b.example"}, "body.slug"},
		{tenancy.CreateInput{Name: "X", Slug: "ab-", AdminEmail: "a@b.example"}, "body.slug"},
		{tenancy.CreateInput{Name: "X", Slug: strings.Repeat("a", 65), AdminEmail: "a@b.example"}, "body.slug"},
		{tenancy.CreateInput{Name: "X", Slug: "ok", AdminEmail: "a@b.example", Region: "eu-west-2"}, "body.data_residency_region"},
		{tenancy.CreateInput{Name: "X", Slug: "ok", AdminEmail: "a@b.example", Region: "us-east-1"}, "body.data_residency_region"},
		{tenancy.CreateInput{Name: "X", Slug: "ok", AdminEmail: "a@b.example", Region: "eu-central-2"}, "body.data_residency_region"},
		{tenancy.CreateInput{Name: "X", Slug: "ok", AdminEmail: "not-an-email"}, "body.admin_email"},
		{tenancy.CreateInput{Name: "X", Slug: "ok", AdminEmail: "Bob <bob@x.example>"}, "body.admin_email"},
		{tenancy.CreateInput{Name: "", Slug: "ok", AdminEmail: "a@b.example"}, "body.name"},
		{tenancy.CreateInput{Name: "X", Slug: "ok", AdminEmail: "a@b.example", Tier: "GOLD"}, "body.tier"},
		{tenancy.CreateInput{Name: "X", Slug: "ok", AdminEmail: "a@b.example", Metadata: map[string]string{"": "v"}}, "body.metadata"},
	}
	before := f.rec.actions()
	for _, c := range cases {
		_, err := f.svc.Create(context.Background(), c.in)
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "%+v", c.in)
		var locs []string
		for _, fv := range eusaas.FieldsOf(err) {
			locs = append(locs, fv.Location)
		}
		require.Contains(t, locs, c.loc, "%+v", c.in)
	}
	_, err := f.svc.Create(context.Background(), tenancy.CreateInput{Name: "X", Slug: "taken", AdminEmail: "a@b.example"})
	require.ErrorIs(t, err, tenancy.ErrSlugTaken)
	require.Equal(t, eusaas.AlreadyExists, eusaas.KindOf(err))
	l, err := f.svc.List(context.Background(), tenancy.ListFilter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, 1, l.Total, "nothing stored")
	require.Equal(t, before, f.rec.actions(), "nothing audited")
	for _, r := range tenancy.EURegions {
		_, err := f.svc.Create(context.Background(), tenancy.CreateInput{Name: "X", Slug: "r-" + r, AdminEmail: "a@b.example", Region: r})
		require.NoError(t, err, r)
	}
}

func TestConfiguredRegions(t *testing.T) {
	svc, err := tenancy.NewService(tenancy.Deps{Store: memtenancy.NewStore(), Provisioner: memtenancy.NewProvisioner(1)}, tenancy.Options{
		Regions: []string{"eu-west-1", "eu-north-1"}, DefaultRegion: "eu-north-1",
	})
	require.NoError(t, err)
	res, err := svc.Create(context.Background(), tenancy.CreateInput{Name: "X", Slug: "xx", AdminEmail: "a@b.example"})
	require.NoError(t, err)
	require.Equal(t, "eu-north-1", res.Tenant.Region)
	require.Empty(t, res.Invitation.Token, "no issuer configured, no invitation")
	_, err = svc.Create(context.Background(), tenancy.CreateInput{Name: "X", Slug: "yy", AdminEmail: "a@b.example", Region: "eu-central-1"})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
}

func TestProvisioningFailure(t *testing.T) {
	for _, step := range []string{"schema", "invitation"} {
		t.Run(step, func(t *testing.T) {
			f := newFixture(t)
			boom := errors.New("disk full")
			if step == "schema" {
				f.prov.FailCreate = func(eusaas.TenantID) error { return boom }
			} else {
				f.inv.fail = boom
			}
			_, err := f.svc.Create(context.Background(), tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "owner@acme.example"})
			require.ErrorIs(t, err, tenancy.ErrProvisioningFailed)
			require.ErrorIs(t, err, boom, "cause kept for logs")
			require.NotContains(t, eusaas.MessageOf(err), "disk full", "cause not shown to clients")

			l, err := f.svc.List(context.Background(), tenancy.ListFilter{}, eusaas.Page{})
			require.NoError(t, err)
			require.Len(t, l.Items, 1)
			tn := l.Items[0]
			require.Equal(t, tenancy.StatusDeleted, tn.Status)
			require.Contains(t, tn.StatusReason, "provisioning failed")
			require.Empty(t, tn.AdminEmail, "tombstone keeps no personal data")
			require.NotNil(t, tn.DeletedAt)
			_, ok := f.prov.SchemaVersion(tn.ID)
			require.False(t, ok, "no half-made schema")
			acts := f.rec.actions()
			require.Equal(t, tenancy.ActionProvisioningFailed, acts[len(acts)-1])
			require.Contains(t, f.rec.events[len(acts)-1].Changes["reason"], "provisioning failed")
			// The slug is free again.
			f.prov.FailCreate, f.inv.fail = nil, nil
			f.create(t, "acme")
		})
	}
}

// op is one lifecycle operation and the source statuses from which it succeeds (noop: from
// which it succeeds without change).
type op struct {
	name    string
	do      func(ctx context.Context, s *tenancy.Service, id eusaas.TenantID) error
	allowed []tenancy.Status
	noop    []tenancy.Status
	to      tenancy.Status
	action  string
}

var ops = []op{
	{"Suspend", func(ctx context.Context, s *tenancy.Service, id eusaas.TenantID) error {
		_, err := s.Suspend(ctx, id)
		return err
	},
		[]tenancy.Status{tenancy.StatusActive}, nil, tenancy.StatusSuspended, tenancy.ActionSuspended},
	{"Activate", func(ctx context.Context, s *tenancy.Service, id eusaas.TenantID) error {
		_, err := s.Activate(ctx, id)
		return err
	},
		[]tenancy.Status{tenancy.StatusSuspended}, nil, tenancy.StatusActive, tenancy.ActionActivated},
	{"BeginDeprovision", func(ctx context.Context, s *tenancy.Service, id eusaas.TenantID) error {
		return s.BeginDeprovision(ctx, id)
	},
		[]tenancy.Status{tenancy.StatusActive, tenancy.StatusSuspended}, []tenancy.Status{tenancy.StatusDeprovisioning}, tenancy.StatusDeprovisioning, tenancy.ActionDeprovisioning},
	{"CompleteDeprovision", func(ctx context.Context, s *tenancy.Service, id eusaas.TenantID) error {
		return s.CompleteDeprovision(ctx, id)
	},
		[]tenancy.Status{tenancy.StatusDeprovisioning}, []tenancy.Status{tenancy.StatusDeleted}, tenancy.StatusDeleted, tenancy.ActionDeleted},
	{"Deprovision", func(ctx context.Context, s *tenancy.Service, id eusaas.TenantID) error {
		_, err := s.Deprovision(ctx, id)
		return err
	},
		[]tenancy.Status{tenancy.StatusActive, tenancy.StatusSuspended, tenancy.StatusDeprovisioning}, []tenancy.Status{tenancy.StatusDeleted}, tenancy.StatusDeleted, tenancy.ActionDeleted},
}

// TestEveryTransition runs every lifecycle operation from every status: allowed ones reach
// their target and are audited; refused ones are a 409-kind error naming the current status
// and change nothing (not the tenant, not its version, not the audit log).
func TestEveryTransition(t *testing.T) {
	for _, o := range ops {
		for _, from := range tenancy.Statuses {
			t.Run(o.name+"/from_"+string(from), func(t *testing.T) {
				f := newFixture(t)
				ctx := context.Background()
				x := f.force(t, "acme", from)
				before := f.rec.actions()
				err := o.do(ctx, f.svc, x.ID)
				got, gerr := f.store.Get(ctx, x.ID)
				require.NoError(t, gerr)
				switch {
				case slices.Contains(o.allowed, from):
					require.NoError(t, err)
					require.Equal(t, o.to, got.Status)
					require.Greater(t, got.Version, x.Version)
					acts := f.rec.actions()
					require.Equal(t, o.action, acts[len(acts)-1])
					last := f.rec.events[len(acts)-1]
					require.Equal(t, string(o.to), last.Changes["to"])
					cached, err := f.svc.Get(ctx, x.ID)
					require.NoError(t, err)
					require.Equal(t, o.to, cached.Status, "cache written through")
				case slices.Contains(o.noop, from):
					require.NoError(t, err)
					require.Equal(t, x, got)
					require.Equal(t, before, f.rec.actions())
				default:
					require.ErrorIs(t, err, tenancy.ErrInvalidTransition)
					require.Equal(t, eusaas.FailedPrecondition, eusaas.KindOf(err))
					require.Contains(t, eusaas.MessageOf(err), "status is "+string(from))
					require.Equal(t, x, got, "refused transition changes nothing")
					require.Equal(t, before, f.rec.actions(), "refused transition is not audited")
				}
			})
		}
	}
}

func TestDeprovisionDefaultOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	x := f.create(t, "acme")
	_, err := f.svc.Get(ctx, x.ID) // warm the cache
	require.NoError(t, err)
	got, err := f.svc.Deprovision(ctx, x.ID)
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusDeleted, got.Status)
	require.Empty(t, got.AdminEmail)
	require.Empty(t, got.Metadata)
	require.NotNil(t, got.DeletedAt)
	require.Equal(t, "acme", got.Slug)
	_, ok := f.prov.SchemaVersion(x.ID)
	require.False(t, ok, "schema dropped")
	acts := f.rec.actions()
	require.Equal(t, []string{tenancy.ActionDeprovisioning, tenancy.ActionDataErased, tenancy.ActionDeleted}, acts[len(acts)-3:])
	st, err := f.svc.TenantStatus(ctx, x.ID)
	require.NoError(t, err)
	require.Equal(t, "DELETED", st)
	_, err = f.svc.GetBySlug(ctx, "acme")
	require.ErrorIs(t, err, tenancy.ErrNotFound)
	// Deleting again is a no-op answered with the existing tombstone: nothing recorded.
	n := len(f.rec.actions())
	again, err := f.svc.Deprovision(ctx, x.ID)
	require.NoError(t, err)
	require.Equal(t, got, again)
	require.Len(t, f.rec.actions(), n, "a repeated erasure records nothing")
}

// A deprovisioner that stops half-way is resumed by calling Deprovision again.
func TestDeprovisionResumes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	x := f.create(t, "acme")
	crash := errors.New("crash")
	f.svc.SetDeprovisioner(tenancy.DeprovisionerFunc(func(ctx context.Context, id eusaas.TenantID) error { return crash }))
	_, err := f.svc.Deprovision(ctx, x.ID)
	require.ErrorIs(t, err, crash)
	st, err := f.svc.TenantStatus(ctx, x.ID)
	require.NoError(t, err)
	require.Equal(t, "DEPROVISIONING", st)
	_, err = f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Name: ptr("x")})
	require.ErrorIs(t, err, tenancy.ErrNotModifiable)
	f.svc.SetDeprovisioner(tenancy.NewDefaultDeprovisioner(f.svc))
	got, err := f.svc.Deprovision(ctx, x.ID)
	require.NoError(t, err)
	require.Equal(t, tenancy.StatusDeleted, got.Status)
}

func TestAuditFailureRollsBack(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	x := f.create(t, "acme")
	f.rec.fail = errors.New("audit down")
	_, err := f.svc.Suspend(ctx, x.ID)
	require.Error(t, err)
	got, err := f.store.Get(ctx, x.ID)
	require.NoError(t, err)
	require.Equal(t, x, got, "a transition that cannot be audited does not happen")
}

func ptr[T any](v T) *T { return &v }

func TestUpdate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	x := f.create(t, "acme")
	x, err := f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Metadata: map[string]*string{"a": ptr("1"), "b": ptr("2")}})
	require.NoError(t, err)

	got, err := f.svc.Update(ctx, x.ID, tenancy.UpdateInput{
		Name:     ptr("Acme GmbH"),
		Tier:     ptr(tenancy.TierEnterprise),
		Metadata: map[string]*string{"a": nil, "c": ptr("3")},
		Settings: &tenancy.SettingsPatch{MaxUsers: ptr(500), CostAlertThreshold: ptr(decimal.RequireFromString("99.95")), AllowSelfRegistration: ptr(true)},
		IfMatch:  x.Version,
	})
	require.NoError(t, err)
	require.Equal(t, "Acme GmbH", got.Name)
	require.Equal(t, tenancy.TierEnterprise, got.Tier)
	require.Equal(t, map[string]string{"b": "2", "c": "3"}, got.Metadata)
	require.Equal(t, 500, got.Settings.MaxUsers)
	require.Equal(t, 100, got.Settings.StorageLimitGB, "absent settings kept")
	require.Equal(t, "99.95", got.Settings.CostAlertThreshold.String())
	require.True(t, got.Settings.AllowSelfRegistration)
	require.Equal(t, x.Version+1, got.Version)
	acts := f.rec.actions()
	require.Equal(t, tenancy.ActionUpdated, acts[len(acts)-1])
	ch := f.rec.events[len(acts)-1].Changes
	require.Equal(t, []string{"a", "c"}, ch["metadata_keys"])
	require.NotContains(t, fmt.Sprint(ch), "\"3\"")

	// A stale If-Match is refused and changes nothing.
	_, err = f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Name: ptr("Stale"), IfMatch: x.Version})
	require.ErrorIs(t, err, tenancy.ErrPreconditionFailed)
	require.Equal(t, "precondition_failed", eusaas.CodeOf(err))
	now, err := f.svc.Get(ctx, x.ID)
	require.NoError(t, err)
	require.Equal(t, got, now)

	// Invalid settings: 422, nothing changes.
	_, err = f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Settings: &tenancy.SettingsPatch{MaxUsers: ptr(0), DataRetentionDays: ptr(4000), CostAlertThreshold: ptr(decimal.RequireFromString("-1"))}})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	require.Len(t, eusaas.FieldsOf(err), 3)
	_, err = f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Settings: &tenancy.SettingsPatch{CostAlertThreshold: ptr(decimal.RequireFromString("1.001"))}})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	_, err = f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Name: ptr(" padded ")})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	now, err = f.svc.Get(ctx, x.ID)
	require.NoError(t, err)
	require.Equal(t, got, now)

	// A patch that changes nothing keeps the version.
	same, err := f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Name: ptr("Acme GmbH")})
	require.NoError(t, err)
	require.Equal(t, got.Version, same.Version)

	_, err = f.svc.Update(ctx, eusaas.NewTenantID(), tenancy.UpdateInput{Name: ptr("x")})
	require.ErrorIs(t, err, tenancy.ErrNotFound)

	// Suspended tenants can be patched; deleted ones cannot.
	_, err = f.svc.Suspend(ctx, x.ID)
	require.NoError(t, err)
	_, err = f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Name: ptr("While suspended")})
	require.NoError(t, err)
	_, err = f.svc.Deprovision(ctx, x.ID)
	require.NoError(t, err)
	_, err = f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Name: ptr("After")})
	require.ErrorIs(t, err, tenancy.ErrNotModifiable)
	require.Contains(t, eusaas.MessageOf(err), "DELETED")
}

// Concurrent unconditional updates all apply (the service retries its compare-and-swap);
// concurrent conditional ones at the same version: exactly one wins, the others get 412.
func TestUpdateConcurrency(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	x := f.create(t, "acme")
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Metadata: map[string]*string{fmt.Sprint("k", i): ptr("v")}})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	got, err := f.svc.Get(ctx, x.ID)
	require.NoError(t, err)
	require.Len(t, got.Metadata, n, "no update lost")

	var ok, stale int
	var mu sync.Mutex
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Name: ptr(fmt.Sprint("n", i)), IfMatch: got.Version})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, tenancy.ErrPreconditionFailed):
				stale++
			default:
				t.Errorf("update: %v", err)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, ok)
	require.Equal(t, n-1, stale)
}

// Racing Suspend and BeginDeprovision from ACTIVE: both may apply only in an order the table
// allows (ACTIVE->SUSPENDED->DEPROVISIONING), never both from ACTIVE.
func TestConcurrentTransitions(t *testing.T) {
	for range 20 {
		f := newFixture(t)
		ctx := context.Background()
		x := f.create(t, "acme")
		var wg sync.WaitGroup
		var e1, e2 error
		wg.Add(2)
		go func() { defer wg.Done(); _, e1 = f.svc.Suspend(ctx, x.ID) }()
		go func() { defer wg.Done(); e2 = f.svc.BeginDeprovision(ctx, x.ID) }()
		wg.Wait()
		require.NoError(t, e2)
		got, err := f.store.Get(ctx, x.ID)
		require.NoError(t, err)
		require.Equal(t, tenancy.StatusDeprovisioning, got.Status)
		if e1 != nil {
			require.ErrorIs(t, e1, tenancy.ErrInvalidTransition)
			require.Equal(t, x.Version+1, got.Version)
		} else {
			require.Equal(t, x.Version+2, got.Version)
		}
	}
}

func TestReadsAndCache(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.create(t, "acme")
	b := f.create(t, "beta")
	f.force(t, "gamma", tenancy.StatusSuspended)

	for _, key := range []string{a.ID.String(), "acme"} {
		got, err := f.svc.Resolve(ctx, key)
		require.NoError(t, err)
		require.Equal(t, a.ID, got.ID)
	}
	for _, key := range []string{eusaas.NewTenantID().String(), "nobody", "NOT A SLUG", ""} {
		_, err := f.svc.Resolve(ctx, key)
		require.ErrorIs(t, err, tenancy.ErrNotFound, key)
	}
	_, err := f.svc.TenantStatus(ctx, eusaas.NewTenantID())
	require.ErrorIs(t, err, tenancy.ErrNotFound)

	act, err := f.svc.ListActive(ctx)
	require.NoError(t, err)
	require.Len(t, act, 2)
	l, err := f.svc.List(ctx, tenancy.ListFilter{Status: tenancy.StatusSuspended}, eusaas.Page{Page: 1, Size: 1})
	require.NoError(t, err)
	require.Equal(t, 1, l.Total)
	_, err = f.svc.List(ctx, tenancy.ListFilter{Status: "NOPE"}, eusaas.Page{Page: 0, Size: 101})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	require.Len(t, eusaas.FieldsOf(err), 2)

	// Reads are served from the cache: a change made behind the service's back is invisible
	// until the service itself writes, which writes through.
	_, err = f.svc.Get(ctx, b.ID)
	require.NoError(t, err)
	behind := b
	behind.Name = "behind the service's back"
	_, err = f.store.Update(ctx, behind)
	require.NoError(t, err)
	got, err := f.svc.Get(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, b.Name, got.Name, "served from cache")
	got, err = f.svc.Suspend(ctx, b.ID)
	require.NoError(t, err)
	cached, ok, err := f.cache.Get(ctx, b.ID)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, got, cached, "the change is written through")
	st, err := f.svc.TenantStatus(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, "SUSPENDED", st)
}

func FuzzValidateSlug(f *testing.F) {
	for _, s := range []string{"acme", "a-b", "a--b", "-a", "a-", "ab", "A", "ü", strings.Repeat("a", 64), strings.Repeat("a", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tenancy.ValidateSlug(s) != "" {
			return
		}
		// Whatever passes is 2..64 bytes of [a-z0-9-], with no dash at either end or doubled.
		if len(s) < 2 || len(s) > 64 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
			t.Fatalf("accepted %q", s)
		}
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}

func TestFailStalled(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	live := f.create(t, "live")
	old := f.force(t, "stuck", tenancy.StatusProvisioning)
	pending := f.force(t, "pending", tenancy.StatusPending)
	f.clock.Advance(time.Hour)
	recent := f.force(t, "recent", tenancy.StatusProvisioning)
	n, err := f.svc.FailStalled(ctx, 30*time.Minute)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	for _, x := range []tenancy.Tenant{old, pending} {
		got, err := f.store.Get(ctx, x.ID)
		require.NoError(t, err)
		require.Equal(t, tenancy.StatusDeleted, got.Status)
		require.Equal(t, "provisioning failed: interrupted", got.StatusReason)
		require.Empty(t, got.AdminEmail)
		_, ok := f.prov.SchemaVersion(x.ID)
		require.False(t, ok)
	}
	for _, x := range []tenancy.Tenant{live, recent} {
		got, err := f.store.Get(ctx, x.ID)
		require.NoError(t, err)
		require.Equal(t, x.Status, got.Status)
	}
	n, err = f.svc.FailStalled(ctx, 30*time.Minute)
	require.NoError(t, err)
	require.Zero(t, n)
}

type heldDeprovisioner struct {
	tenancy.DeprovisionerFunc
	hold error
}

func (h heldDeprovisioner) CheckErasable(context.Context, eusaas.TenantID) error { return h.hold }

// A deprovisioner that can refuse (a legal hold) is asked before the tenant is frozen; one
// that finishes in the background leaves the tenant DEPROVISIONING for now.
func TestDeprovisionCheckedAndAsync(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	x := f.create(t, "acme")
	held := eusaas.Sentinel(eusaas.FailedPrecondition, "legal_hold", "the tenant is under a legal hold")
	called := false
	f.svc.SetDeprovisioner(heldDeprovisioner{DeprovisionerFunc: func(context.Context, eusaas.TenantID) error { called = true; return nil }, hold: held})
	_, err := f.svc.Deprovision(ctx, x.ID)
	require.ErrorIs(t, err, held)
	require.False(t, called)
	got, err := f.store.Get(ctx, x.ID)
	require.NoError(t, err)
	require.Equal(t, x, got, "not frozen")

	f.svc.SetDeprovisioner(heldDeprovisioner{DeprovisionerFunc: func(context.Context, eusaas.TenantID) error { called = true; return nil }})
	got, err = f.svc.Deprovision(ctx, x.ID)
	require.NoError(t, err)
	require.True(t, called)
	require.Equal(t, tenancy.StatusDeprovisioning, got.Status, "erasure scheduled, not done")
}

// A NUL in a metadata value is refused up front: Postgres cannot store it, and before this
// check the Postgres server answered 500 to such a POST or PATCH.
func TestMetadataNULRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	x := f.create(t, "acme")
	before := f.rec.actions()
	_, err := f.svc.Create(ctx, tenancy.CreateInput{Name: "X", Slug: "nul", AdminEmail: "a@b.example", Metadata: map[string]string{"k": "a\x00b"}})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "%v", err)
	require.Equal(t, "body.metadata.k", eusaas.FieldsOf(err)[0].Location)
	_, err = f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Metadata: map[string]*string{"k": ptr("a\x00b")}})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), "%v", err)
	require.Equal(t, "body.metadata.k", eusaas.FieldsOf(err)[0].Location)
	got, err := f.svc.Get(ctx, x.ID)
	require.NoError(t, err)
	require.Equal(t, x.Version, got.Version, "nothing changed")
	require.Equal(t, before, f.rec.actions(), "nothing audited")
	l, err := f.svc.List(ctx, tenancy.ListFilter{}, eusaas.Page{})
	require.NoError(t, err)
	require.Equal(t, 1, l.Total)
}

// anomaly_min_impact: 5.00 by default, patched and audited like cost_alert_threshold, and
// bounded to 0.01..1000000000 with cents (0 is refused: it would read as "the scanner's
// default").
func TestAnomalyMinImpactSetting(t *testing.T) {
	require.Equal(t, "5.00", tenancy.DefaultSettings().AnomalyMinImpact.StringFixed(2))
	var v eusaas.Violations
	tenancy.DefaultSettings().Validate("body.settings", &v)
	require.NoError(t, v.Err())

	f := newFixture(t)
	ctx := context.Background()
	x := f.create(t, "acme")
	require.True(t, x.Settings.AnomalyMinImpact.Equal(decimal.NewFromInt(5)))

	got, err := f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Settings: &tenancy.SettingsPatch{AnomalyMinImpact: ptr(decimal.RequireFromString("250.5"))}})
	require.NoError(t, err)
	require.Equal(t, "250.5", got.Settings.AnomalyMinImpact.String())
	require.Equal(t, x.Version+1, got.Version)
	require.True(t, got.Settings.CostAlertThreshold.Equal(x.Settings.CostAlertThreshold), "other settings kept")
	acts := f.rec.actions()
	require.Equal(t, tenancy.ActionUpdated, acts[len(acts)-1])
	require.Equal(t, map[string]any{"settings.anomaly_min_impact": map[string]any{"old": "5", "new": "250.5"}}, f.rec.events[len(acts)-1].Changes)

	// The same value again changes nothing.
	same, err := f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Settings: &tenancy.SettingsPatch{AnomalyMinImpact: ptr(decimal.RequireFromString("250.50"))}})
	require.NoError(t, err)
	require.Equal(t, got.Version, same.Version)

	for _, ok := range []string{"0.01", "1000000000"} {
		_, err := f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Settings: &tenancy.SettingsPatch{AnomalyMinImpact: ptr(decimal.RequireFromString(ok))}})
		require.NoError(t, err, ok)
	}
	for _, bad := range []string{"0", "-1", "0.001", "1.005", "1000000000.01"} {
		_, err := f.svc.Update(ctx, x.ID, tenancy.UpdateInput{Settings: &tenancy.SettingsPatch{AnomalyMinImpact: ptr(decimal.RequireFromString(bad))}})
		require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err), bad)
		fields := eusaas.FieldsOf(err)
		require.Len(t, fields, 1, bad)
		require.Equal(t, "body.settings.anomaly_min_impact", fields[0].Location, bad)
	}
	now, err := f.svc.Get(ctx, x.ID)
	require.NoError(t, err)
	require.Equal(t, "1000000000", now.Settings.AnomalyMinImpact.String(), "refused patches change nothing")
}

// A wiring mistake must be an error at start-up naming what is missing, not a nil
// dereference on the first request.
func TestNewServiceRefusesMissingPorts(t *testing.T) {
	svc, err := tenancy.NewService(tenancy.Deps{}, tenancy.Options{})
	require.Nil(t, svc)
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	require.ErrorContains(t, err, "tenancy: missing required ports: [Store Provisioner]")

	_, err = tenancy.NewService(tenancy.Deps{Store: memtenancy.NewStore()}, tenancy.Options{})
	require.ErrorContains(t, err, "missing required ports: [Provisioner]")
}

// mover records the region moves it is told of; fail makes it refuse.
type mover struct {
	mu    sync.Mutex
	moves []string
	fail  error
}

func (m *mover) MoveRegion(ctx context.Context, id eusaas.TenantID, from, to string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.moves = append(m.moves, id.String()+" "+from+"->"+to)
	memtx.OnRollback(ctx, func() {
		m.mu.Lock()
		m.moves = m.moves[:len(m.moves)-1]
		m.mu.Unlock()
	})
	return nil
}

// TestTenantRegionChange: a region change is validated, stored, audited, and handed to the RegionMover in the same
// transaction; an unchanged region moves nothing, and a mover that fails rolls it all back.
func TestTenantRegionChange(t *testing.T) {
	ctx := context.Background()
	store, rec, mv := memtenancy.NewStore(), &recorder{}, &mover{}
	svc, err := tenancy.NewService(tenancy.Deps{Store: store, Provisioner: memtenancy.NewProvisioner(3), Recorder: rec,
		Tx: memtx.NewTxRunner(), Regions: mv}, tenancy.Options{})
	require.NoError(t, err)
	res, err := svc.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "o@acme.example"})
	require.NoError(t, err)
	x := res.Tenant
	require.Equal(t, "eu-central-1", x.Region)

	_, err = svc.Update(ctx, x.ID, tenancy.UpdateInput{Region: ptr("us-east-1")})
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	require.Equal(t, []eusaas.FieldViolation{{Location: "body.data_residency_region", Message: fmt.Sprintf("must be an EU region: one of %v", tenancy.EURegions)}}, eusaas.FieldsOf(err))

	got, err := svc.Update(ctx, x.ID, tenancy.UpdateInput{Region: ptr("eu-west-1")})
	require.NoError(t, err)
	require.Equal(t, "eu-west-1", got.Region)
	require.Equal(t, []string{x.ID.String() + " eu-central-1->eu-west-1"}, mv.moves)
	last := rec.events[len(rec.events)-1]
	require.Equal(t, tenancy.ActionUpdated, last.Action)
	require.Equal(t, map[string]any{"data_residency_region": map[string]any{"old": "eu-central-1", "new": "eu-west-1"}}, last.Changes)

	same, err := svc.Update(ctx, x.ID, tenancy.UpdateInput{Region: ptr("eu-west-1"), Name: ptr("Acme GmbH")})
	require.NoError(t, err)
	require.Equal(t, "Acme GmbH", same.Name)
	require.Len(t, mv.moves, 1, "an unchanged region moves nothing")

	mv.fail = errors.New("queue down")
	events := len(rec.events)
	_, err = svc.Update(ctx, x.ID, tenancy.UpdateInput{Region: ptr("eu-north-1")})
	require.ErrorContains(t, err, "queue down")
	cur, err := svc.Get(ctx, x.ID)
	require.NoError(t, err)
	require.Equal(t, "eu-west-1", cur.Region, "no region change without its move")
	require.Len(t, rec.events, events)

	// Without a PlacementReader nothing is placed anywhere.
	_, ok, err := svc.Placement(ctx, x.ID)
	require.NoError(t, err)
	require.False(t, ok)
}
