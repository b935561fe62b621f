package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/adapters/postgres"
)

func TestParseRegionNodes(t *testing.T) {
	n := func(h string, p int) postgres.CitusNode { return postgres.CitusNode{Host: h, Port: p} }
	got, err := postgres.ParseRegionNodes(" eu-central-1=10.0.0.5:5432, eu-west-1=w1.internal:6432,eu-central-1=10.0.0.6:5432,eu-north-1=[fd00::7]:5432,")
	require.NoError(t, err)
	require.Equal(t, postgres.RegionNodes{
		"eu-central-1": {n("10.0.0.5", 5432), n("10.0.0.6", 5432)},
		"eu-west-1":    {n("w1.internal", 6432)},
		"eu-north-1":   {n("fd00::7", 5432)},
	}, got)
	require.Equal(t, "[fd00::7]:5432", got["eu-north-1"][0].String())
	region, ok := got.RegionOf(n("10.0.0.6", 5432))
	require.True(t, ok)
	require.Equal(t, "eu-central-1", region)
	_, ok = got.RegionOf(n("10.0.0.9", 5432))
	require.False(t, ok)

	empty, err := postgres.ParseRegionNodes("")
	require.NoError(t, err)
	require.Empty(t, empty)

	for _, bad := range []string{
		"eu-central-1",                // no node
		"=10.0.0.5:5432",              // no region
		"EU=10.0.0.5:5432",            // not a region name
		"eu-central-1=10.0.0.5",       // no port
		"eu-central-1=10.0.0.5:0",     // port out of range
		"eu-central-1=10.0.0.5:99999", // port out of range
		"eu-central-1=10.0.0.5:x",     // port not a number
		"eu-central-1=:5432",          // no host
		"eu-central-1=10.0.0.5:5432,eu-west-1=10.0.0.5:5432",    // one node, two regions
		"eu-central-1=10.0.0.5:5432,eu-central-1=10.0.0.5:5432", // listed twice
	} {
		_, err := postgres.ParseRegionNodes(bad)
		require.Error(t, err, bad)
	}
}

// The placement logic against a node map (configuration; no database involved).
func TestPlacement(t *testing.T) {
	a, b := postgres.CitusNode{Host: "10.0.0.5", Port: 5432}, postgres.CitusNode{Host: "10.0.0.6", Port: 5432}
	w := postgres.CitusNode{Host: "10.0.1.5", Port: 5432}
	nodes := postgres.RegionNodes{"eu-central-1": {a, b}, "eu-west-1": {w}}

	// Fewest tenant schemas first; the first listed on a tie; missing counts are zero.
	got, err := nodes.ChooseNode("eu-central-1", nil)
	require.NoError(t, err)
	require.Equal(t, a, got)
	got, err = nodes.ChooseNode("eu-central-1", map[postgres.CitusNode]int{a: 3, b: 2, w: 0})
	require.NoError(t, err)
	require.Equal(t, b, got)
	got, err = nodes.ChooseNode("eu-central-1", map[postgres.CitusNode]int{a: 2, b: 2})
	require.NoError(t, err)
	require.Equal(t, a, got)
	got, err = nodes.ChooseNode("eu-west-1", map[postgres.CitusNode]int{w: 100, a: 0})
	require.NoError(t, err)
	require.Equal(t, w, got, "never another region's node, however empty")

	_, err = nodes.ChooseNode("eu-south-1", nil)
	require.ErrorIs(t, err, postgres.ErrNoRegionNode)
	require.Equal(t, eusaas.FailedPrecondition, eusaas.KindOf(err))
	require.Contains(t, err.Error(), "eu-south-1")

	// A schema on a node of its region stays, even when another node is emptier.
	target, move, err := nodes.PlanPlacement("eu-central-1", a, map[postgres.CitusNode]int{a: 9, b: 0})
	require.NoError(t, err)
	require.Equal(t, a, target)
	require.False(t, move)
	// A schema on another region's node moves to its region's emptiest node.
	target, move, err = nodes.PlanPlacement("eu-central-1", w, map[postgres.CitusNode]int{a: 1, b: 0, w: 0})
	require.NoError(t, err)
	require.Equal(t, b, target)
	require.True(t, move)
	// A schema on an unlabelled node moves too.
	target, move, err = nodes.PlanPlacement("eu-west-1", postgres.CitusNode{Host: "10.9.9.9", Port: 5432}, nil)
	require.NoError(t, err)
	require.Equal(t, w, target)
	require.True(t, move)
	// No node for the region: an error, never a silent placement elsewhere.
	_, _, err = nodes.PlanPlacement("eu-south-1", a, nil)
	require.ErrorIs(t, err, postgres.ErrNoRegionNode)
}
