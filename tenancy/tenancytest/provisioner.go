package tenancytest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/tenancy"
)

// ProvisionerHarness makes a fresh provisioner per subtest of RunProvisioner.
type ProvisionerHarness struct {
	New func(t *testing.T) ProvisionerEnv
}

// ProvisionerEnv is one provisioner and the means to observe the storage it manages,
// bypassing the provisioner (Postgres: the catalog and eusaas.tenant_schemas).
type ProvisionerEnv struct {
	Provisioner tenancy.Provisioner
	// Exists reports whether the tenant's schema exists (Postgres: pg_namespace).
	Exists func(ctx context.Context, id eusaas.TenantID) (bool, error)
	// Version reports the schema's recorded migration version; ok is false when there is
	// no record.
	Version func(ctx context.Context, id eusaas.TenantID) (v int, ok bool, err error)
	// Latest is the version a created or migrated schema must be at.
	Latest int

	// Outdated, when set, provisions the same storage with fewer migrations than
	// Provisioner (its schemas end below Latest), so Migrate has work to do. Nil skips
	// that part of MigrateUpToDate.
	Outdated tenancy.Provisioner
	// PutData stores a marker inside the tenant's schema and HasData reports whether it is
	// there. Both nil for adapters that hold no data in the provisioned storage.
	PutData func(ctx context.Context, id eusaas.TenantID) error
	HasData func(ctx context.Context, id eusaas.TenantID) (bool, error)
}

func (e ProvisionerEnv) requireExists(t *testing.T, id eusaas.TenantID, want bool) {
	t.Helper()
	ok, err := e.Exists(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, want, ok, "schema of %s exists", id)
	v, ok, err := e.Version(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, want, ok, "version record of %s exists", id)
	if want {
		require.Equal(t, e.Latest, v, "schema of %s is at the latest version", id)
	}
}

func (e ProvisionerEnv) putData(t *testing.T, id eusaas.TenantID) {
	t.Helper()
	if e.PutData != nil {
		require.NoError(t, e.PutData(context.Background(), id))
		e.requireData(t, id, true)
	}
}

func (e ProvisionerEnv) requireData(t *testing.T, id eusaas.TenantID, want bool) {
	t.Helper()
	if e.HasData == nil {
		return
	}
	ok, err := e.HasData(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, want, ok, "data in the schema of %s", id)
}

func requireCanceled(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, context.Canceled) || eusaas.KindOf(err) == eusaas.Canceled,
		"error reports the cancellation: %v", err)
}

// RunProvisioner runs the conformance suite of tenancy.Provisioner.
func RunProvisioner(t *testing.T, h ProvisionerHarness) {
	ctx := context.Background()

	t.Run("CreateThenExists", func(t *testing.T) {
		t.Parallel()
		e := h.New(t)
		id := eusaas.NewTenantID()
		e.requireExists(t, id, false)
		require.NoError(t, e.Provisioner.Create(ctx, id))
		e.requireExists(t, id, true)
	})

	t.Run("CreateIdempotent", func(t *testing.T) {
		// Create on an existing schema only applies what is missing: no error, and
		// nothing already in the schema is lost.
		t.Parallel()
		e := h.New(t)
		id := eusaas.NewTenantID()
		require.NoError(t, e.Provisioner.Create(ctx, id))
		e.putData(t, id)
		require.NoError(t, e.Provisioner.Create(ctx, id))
		e.requireExists(t, id, true)
		e.requireData(t, id, true)
	})

	t.Run("MigrateUpToDate", func(t *testing.T) {
		t.Parallel()
		e := h.New(t)
		id := eusaas.NewTenantID()
		err := e.Provisioner.Migrate(ctx, id)
		require.Equal(t, eusaas.NotFound, eusaas.KindOf(err), "Migrate of a missing schema: %v", err)
		e.requireExists(t, id, false)

		require.NoError(t, e.Provisioner.Create(ctx, id))
		e.putData(t, id)
		require.NoError(t, e.Provisioner.Migrate(ctx, id), "Migrate of a current schema is a no-op")
		e.requireExists(t, id, true)
		e.requireData(t, id, true)

		if e.Outdated != nil {
			old := eusaas.NewTenantID()
			require.NoError(t, e.Outdated.Create(ctx, old))
			v, ok, err := e.Version(ctx, old)
			require.NoError(t, err)
			require.True(t, ok)
			require.Less(t, v, e.Latest, "the outdated provisioner leaves the schema behind")
			e.putData(t, old)
			require.NoError(t, e.Provisioner.Migrate(ctx, old))
			e.requireExists(t, old, true)
			e.requireData(t, old, true)
			// Create on a lagging schema brings it up to date as well.
			old2 := eusaas.NewTenantID()
			require.NoError(t, e.Outdated.Create(ctx, old2))
			require.NoError(t, e.Provisioner.Create(ctx, old2))
			e.requireExists(t, old2, true)
		}

		require.NoError(t, e.Provisioner.Drop(ctx, id))
		err = e.Provisioner.Migrate(ctx, id)
		require.Equal(t, eusaas.NotFound, eusaas.KindOf(err), "Migrate of a dropped schema: %v", err)
		e.requireExists(t, id, false)
	})

	t.Run("DropIdempotent", func(t *testing.T) {
		t.Parallel()
		e := h.New(t)
		id := eusaas.NewTenantID()
		require.NoError(t, e.Provisioner.Drop(ctx, id), "dropping a schema that never existed")
		require.NoError(t, e.Provisioner.Create(ctx, id))
		require.NoError(t, e.Provisioner.Drop(ctx, id))
		require.NoError(t, e.Provisioner.Drop(ctx, id), "dropping a dropped schema")
		e.requireExists(t, id, false)
	})

	t.Run("DropRemovesEverything", func(t *testing.T) {
		t.Parallel()
		e := h.New(t)
		id := eusaas.NewTenantID()
		require.NoError(t, e.Provisioner.Create(ctx, id))
		e.putData(t, id)
		require.NoError(t, e.Provisioner.Drop(ctx, id))
		e.requireExists(t, id, false)
		// A schema created again for the same tenant starts empty.
		require.NoError(t, e.Provisioner.Create(ctx, id))
		e.requireExists(t, id, true)
		e.requireData(t, id, false)
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		t.Parallel()
		e := h.New(t)
		a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
		require.NoError(t, e.Provisioner.Create(ctx, a))
		e.requireExists(t, b, false)
		require.NoError(t, e.Provisioner.Create(ctx, b))
		e.putData(t, a)
		e.putData(t, b)
		require.NoError(t, e.Provisioner.Drop(ctx, a))
		e.requireExists(t, a, false)
		e.requireExists(t, b, true)
		e.requireData(t, b, true)
		require.NoError(t, e.Provisioner.Migrate(ctx, b))
		err := e.Provisioner.Migrate(ctx, a)
		require.Equal(t, eusaas.NotFound, eusaas.KindOf(err), "Migrate of A after dropping A: %v", err)
		e.requireData(t, b, true)
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		t.Parallel()
		e := h.New(t)
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		id := eusaas.NewTenantID()
		requireCanceled(t, e.Provisioner.Create(canceled, id))
		e.requireExists(t, id, false)

		require.NoError(t, e.Provisioner.Create(ctx, id))
		e.putData(t, id)
		requireCanceled(t, e.Provisioner.Migrate(canceled, id))
		requireCanceled(t, e.Provisioner.Drop(canceled, id))
		e.requireExists(t, id, true)
		e.requireData(t, id, true)
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		e := h.New(t)
		const tenants, perTenant = 6, 3
		ids := make([]eusaas.TenantID, tenants)
		for i := range ids {
			ids[i] = eusaas.NewTenantID()
		}
		// Several tenants at once, and each one by several callers at once: every call
		// succeeds and every schema ends up whole.
		run := func(op func(context.Context, eusaas.TenantID) error) {
			t.Helper()
			var wg sync.WaitGroup
			errs := make(chan error, tenants*perTenant)
			for _, id := range ids {
				for range perTenant {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs <- op(ctx, id)
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
		}
		run(e.Provisioner.Create)
		for _, id := range ids {
			e.requireExists(t, id, true)
		}
		run(e.Provisioner.Migrate)
		for _, id := range ids {
			e.requireExists(t, id, true)
		}
		run(e.Provisioner.Drop)
		for _, id := range ids {
			e.requireExists(t, id, false)
		}
	})
}
