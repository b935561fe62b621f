package billing_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
)

// A wiring mistake must be an error at start-up naming what is missing, not a nil
// dereference on the first request.
func TestNewServiceRefusesMissingPorts(t *testing.T) {
	svc, err := billing.NewService(billing.Deps{}, billing.Options{})
	require.Nil(t, svc)
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	require.ErrorContains(t, err, "billing: missing required ports: [Usage Invoices Prices]")

	_, err = billing.NewService(billing.Deps{Usage: membilling.NewUsageStore(), Invoices: membilling.NewInvoiceStore()}, billing.Options{})
	require.ErrorContains(t, err, "missing required ports: [Prices]")
}
