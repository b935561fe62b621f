package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/tenancy"
)

// CitusProvisioner is the tenancy Provisioner of a deployment that may run on Citus: it
// provisions through TenantSchemas and then, when the citus extension is installed and
// region labels are configured (APP_CITUS_REGION_NODES), distributes the new schema and
// places it on a node of the tenant's data residency region (Citus.Distribute) before the
// tenant becomes ACTIVE. Without Citus or without labels it is TenantSchemas unchanged, so
// vanilla PostgreSQL pays nothing but one check of the labels.
type CitusProvisioner struct {
	schemas *TenantSchemas
	citus   *Citus
}

var _ tenancy.Provisioner = (*CitusProvisioner)(nil)

// NewCitusProvisioner provisions with schemas and places with citus.
func NewCitusProvisioner(schemas *TenantSchemas, citus *Citus) *CitusProvisioner {
	return &CitusProvisioner{schemas: schemas, citus: citus}
}

// Create makes and migrates the schema, then places it. A placement that fails (no node
// labelled for the region: ErrNoRegionNode; a Citus error) drops the schema again, so the
// Provisioner contract holds (nothing left behind) and the tenant's provisioning fails
// rather than keeping its data outside its region.
func (p *CitusProvisioner) Create(ctx context.Context, id eusaas.TenantID) error {
	if err := p.schemas.Create(ctx, id); err != nil {
		return err
	}
	if err := p.citus.PlaceNew(ctx, id); err != nil {
		if derr := p.schemas.Drop(context.WithoutCancel(ctx), id); derr != nil {
			return errors.Join(err, fmt.Errorf("postgres: dropping %s after its placement failed: %w", id.SchemaName(), derr))
		}
		return err
	}
	return nil
}

// Migrate implements tenancy.Provisioner.
func (p *CitusProvisioner) Migrate(ctx context.Context, id eusaas.TenantID) error {
	return p.schemas.Migrate(ctx, id)
}

// Drop implements tenancy.Provisioner (on Citus, DROP SCHEMA drops the distributed schema
// from every node).
func (p *CitusProvisioner) Drop(ctx context.Context, id eusaas.TenantID) error {
	return p.schemas.Drop(ctx, id)
}

// PlaceNew distributes and places a newly created tenant schema when the citus extension is
// installed and region labels are configured; otherwise it does nothing (without labels,
// Citus itself decides where a schema created under citus.enable_schema_based_sharding
// goes).
func (c *Citus) PlaceNew(ctx context.Context, id eusaas.TenantID) error {
	if len(c.nodes) == 0 {
		return nil
	}
	on, err := citusInstalled(ctx, c.db.Pool)
	if err != nil || !on {
		return err
	}
	// Distribution commits on connections of its own (citus_schema_move cannot run inside a
	// transaction block), so it cannot see, and would wait on the lock of, a schema created
	// in the caller's still open transaction.
	if _, inTx := Tx(ctx); inTx {
		return eusaas.E(eusaas.FailedPrecondition, "postgres: a tenant schema is placed on Citus after its creation commits; provision it outside a transaction")
	}
	_, err = c.Distribute(ctx, id)
	return err
}

// PlaceTenant moves the tenant's schema onto a node of its current data residency region
// (platform.Placer, the body of the tenancy.move_region job): Distribute, which distributes
// a schema still local to the coordinator, moves it with citus_schema_move when its node is
// not labelled for the region, and records and audits the placement. Without the citus
// extension, or without region labels, it answers placed false with the reason: the
// region is a label only.
func (c *Citus) PlaceTenant(ctx context.Context, id eusaas.TenantID) (placed bool, reason string, err error) {
	on, err := citusInstalled(ctx, c.db.Pool)
	if err != nil {
		return false, "", err
	}
	if !on {
		return false, "the citus extension is not installed: the tenant's schema stays on the one PostgreSQL server and data_residency_region is a label only", nil
	}
	if len(c.nodes) == 0 {
		return false, "no Citus node is labelled with a region (APP_CITUS_REGION_NODES): Citus places the schema and data_residency_region is a label only", nil
	}
	if _, err := c.Distribute(ctx, id); err != nil {
		return false, "", err
	}
	return true, "", nil
}
