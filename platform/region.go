package platform

import (
	"context"
	"fmt"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/jobs"
	"github.com/eusaas/eusaas/tenancy"
)

// JobMoveRegion is the job kind that moves a tenant's data after a change of its data
// residency region (tenancy.Service.Update enqueues it in the change's transaction).
const JobMoveRegion = "tenancy.move_region"

// Placer places a tenant's data on storage of its data residency region. The Citus adapter
// (postgres.Citus) implements it with citus_schema_move onto a node labelled for the
// region (APP_CITUS_REGION_NODES), recording and auditing the placement (TENANT_PLACED).
type Placer interface {
	// PlaceTenant moves the tenant's data to storage of its current region, a no-op when it
	// is there already. It answers placed false, with the reason, when the storage places
	// nothing by region (no Citus, no labelled nodes): the region is then a label only.
	PlaceTenant(ctx context.Context, id eusaas.TenantID) (placed bool, reason string, err error)
}

// noPlacer is the reason recorded when the store set has no Placer (the in-memory mode).
const noPlacer = "this deployment stores every tenant's data in one place: data_residency_region is a label only"

type moveRegionArgs struct {
	TenantID eusaas.TenantID `json:"tenant_id"`
	From     string          `json:"from"`
	To       string          `json:"to"`
}

// regionMoves is tenancy's RegionMover: the move is a job enqueued in the transaction of
// the region change, so there is no change without its move (and no move without the change).
type regionMoves struct{ queue jobs.Queue }

var _ tenancy.RegionMover = regionMoves{}

func (r regionMoves) MoveRegion(ctx context.Context, id eusaas.TenantID, from, to string) error {
	return r.queue.Enqueue(ctx, JobMoveRegion, moveRegionArgs{TenantID: id, From: from, To: to}, nil)
}

// MoveRegion is the body of the tenancy.move_region job: it places the tenant's data in the
// tenant's current region through the Placer (which audits TENANT_PLACED), or, where data
// is not placed by region, records TENANT_REGION_LABEL_ONLY on the tenant's chain. It reads
// the region now, so of several quick changes the last wins; a tenant being erased or gone
// is left alone. It is idempotent (a placed schema is not moved again).
func (p *Platform) MoveRegion(ctx context.Context, id eusaas.TenantID) error {
	t, err := p.Tenancy.Get(ctx, id)
	if err != nil {
		return err
	}
	if t.Status == tenancy.StatusDeprovisioning || t.Status == tenancy.StatusDeleted {
		p.log.InfoContext(ctx, "region move skipped: the tenant is being erased", "tenant_id", id.String(), "status", string(t.Status))
		return nil
	}
	reason := noPlacer
	if p.placer != nil {
		placed, why, err := p.placer.PlaceTenant(ctx, id)
		if err != nil {
			return fmt.Errorf("moving tenant %s to %s: %w", id, t.Region, err)
		}
		if placed {
			return nil
		}
		reason = why
	}
	return p.Audit.Record(ctx, eusaas.AuditEvent{
		TenantID: id, Actor: eusaas.ActorFrom(ctx), Action: tenancy.ActionRegionLabelOnly,
		ResourceType: tenancy.ResourceType, ResourceID: id.String(),
		Changes: map[string]any{"data_residency_region": t.Region, "reason": reason},
	})
}
