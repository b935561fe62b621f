package anomaly_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
)

// A wiring mistake must be an error at start-up naming what is missing, not a nil
// dereference on the first request.
func TestNewServiceRefusesMissingPorts(t *testing.T) {
	svc, err := anomaly.NewService(anomaly.Deps{}, anomaly.Options{})
	require.Nil(t, svc)
	require.Equal(t, eusaas.InvalidArgument, eusaas.KindOf(err))
	require.ErrorContains(t, err, "anomaly: missing required ports: [Store]")
}
