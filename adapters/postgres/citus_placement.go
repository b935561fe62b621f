package postgres

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/eusaas/eusaas"
)

// CitusNode is a Citus worker node as pg_dist_node names it.
type CitusNode struct {
	Host string
	Port int
}

func (n CitusNode) String() string { return net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) }

// IsZero reports whether the node is unset (a schema not placed on any worker).
func (n CitusNode) IsZero() bool { return n.Host == "" && n.Port == 0 }

// RegionNodes maps a data residency region to the Citus worker nodes labelled for it, in
// the order the operator listed them (APP_CITUS_REGION_NODES).
type RegionNodes map[string][]CitusNode

// ErrNoRegionNode: a tenant's data residency region has no Citus node labelled for it, so
// its schema cannot be placed without breaking residency.
var ErrNoRegionNode = eusaas.Sentinel(eusaas.FailedPrecondition, "citus_no_region_node",
	"no Citus node is labelled for the tenant's data residency region")

var regionName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ParseRegionNodes parses APP_CITUS_REGION_NODES: comma-separated region=host:port
// entries; a region may be named several times to label several nodes
// ("eu-central-1=10.0.0.5:5432,eu-central-1=10.0.0.6:5432,eu-west-1=10.0.1.5:5432").
// IPv6 hosts are bracketed ([fd00::5]:5432). A node labelled twice, even for one region, is
// an error: a node serving two regions would defeat residency. Empty input: no labels.
func ParseRegionNodes(s string) (RegionNodes, error) {
	out := RegionNodes{}
	seen := map[CitusNode]string{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		region, addr, ok := strings.Cut(entry, "=")
		region, addr = strings.TrimSpace(region), strings.TrimSpace(addr)
		if !ok || !regionName.MatchString(region) {
			return nil, fmt.Errorf("APP_CITUS_REGION_NODES: %q is not region=host:port", entry)
		}
		host, portText, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			return nil, fmt.Errorf("APP_CITUS_REGION_NODES: %q: the node must be host:port", entry)
		}
		port, err := strconv.Atoi(portText)
		if err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("APP_CITUS_REGION_NODES: %q: port must be 1..65535", entry)
		}
		n := CitusNode{Host: host, Port: port}
		if prev, dup := seen[n]; dup {
			return nil, fmt.Errorf("APP_CITUS_REGION_NODES: node %s is labelled twice (%s and %s)", n, prev, region)
		}
		seen[n] = region
		out[region] = append(out[region], n)
	}
	return out, nil
}

// RegionOf returns the region a node is labelled for.
func (r RegionNodes) RegionOf(n CitusNode) (string, bool) {
	for region, nodes := range r {
		if slices.Contains(nodes, n) {
			return region, true
		}
	}
	return "", false
}

// ChooseNode picks the node for a tenant schema of region: the region's node holding the
// fewest tenant schemas (schemas counts them per node; missing means none), the first
// listed on a tie. Errors: ErrNoRegionNode.
func (r RegionNodes) ChooseNode(region string, schemas map[CitusNode]int) (CitusNode, error) {
	nodes := r[region]
	if len(nodes) == 0 {
		return CitusNode{}, ErrNoRegionNode.Withf("no Citus node is labelled for region %q (APP_CITUS_REGION_NODES)", region)
	}
	best := nodes[0]
	for _, n := range nodes[1:] {
		if schemas[n] < schemas[best] {
			best = n
		}
	}
	return best, nil
}

// PlanPlacement decides where a tenant schema of region belongs, given the node holding it
// now (zero when not placed yet): it stays when that node is labelled for the region, else
// it goes to ChooseNode's pick; move reports that target differs from current. Errors:
// ErrNoRegionNode.
func (r RegionNodes) PlanPlacement(region string, current CitusNode, schemas map[CitusNode]int) (target CitusNode, move bool, err error) {
	if !current.IsZero() && slices.Contains(r[region], current) {
		return current, false, nil
	}
	target, err = r.ChooseNode(region, schemas)
	if err != nil {
		return CitusNode{}, false, err
	}
	return target, target != current, nil
}
