package tenancy_test

import (
	"context"
	"fmt"

	"github.com/eusaas/eusaas/tenancy"
	"github.com/eusaas/eusaas/tenancy/memtenancy"
)

// Embedding tenancy alone: an in-memory registry and provisioner, then the lifecycle.
func Example() {
	ctx := context.Background()
	svc, err := tenancy.NewService(tenancy.Deps{Store: memtenancy.NewStore(), Provisioner: memtenancy.NewProvisioner(1)}, tenancy.Options{})
	if err != nil {
		panic(err)
	}

	res, err := svc.Create(ctx, tenancy.CreateInput{Name: "Acme", Slug: "acme", AdminEmail: "owner@acme.example"})
	if err != nil {
		panic(err)
	}
	t := res.Tenant
	fmt.Println(t.Status, t.Region, t.Settings.MaxUsers, t.SchemaName == t.ID.SchemaName())

	t, _ = svc.Suspend(ctx, t.ID)
	fmt.Println(t.Status)
	_, err = svc.Suspend(ctx, t.ID)
	fmt.Println(err)

	t, _ = svc.Deprovision(ctx, t.ID)
	fmt.Println(t.Status, t.AdminEmail == "")
	// Output:
	// ACTIVE eu-central-1 50 true
	// SUSPENDED
	// cannot suspend tenant: status is SUSPENDED (allowed from: ACTIVE)
	// DELETED true
}
