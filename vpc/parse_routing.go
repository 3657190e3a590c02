package vpc

import (
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	rtKeys    = []string{"id", "vpc", "main", "routes", "tags"}
	routeKeys = []string{"destination", "destination_prefix_list", "target", "target_kind", "state", "propagated"}
	igwKeys   = []string{"id", "vpc", "tags"}
	natKeys   = []string{"id", "subnet", "eni", "private_ip", "connectivity", "elastic_ip", "port_policy", "tags"}
	eipKeys   = []string{"id", "public_ip", "network_interface", "private_ip", "tags"}
	pcxKeys   = []string{"id", "requester_vpc", "accepter_vpc", "state", "tags"}
	vpceKeys  = []string{"id", "vpc", "service", "route_tables", "tags"}

	// reService is a gateway endpoint's service name (VPCE-1).
	reService = regexp.MustCompile(`^com\.amazonaws\.([a-z0-9-]+)\.(s3|dynamodb)$`)
)

// PeeringStates are the states of a VPC peering connection (PCX-1); only
// active carries traffic.
var PeeringStates = []string{"initiating-request", "pending-acceptance", "provisioning", "active", "rejected", "failed", "expired", "deleting", "deleted"}

// tags decodes an object's tags: a mapping of keys to string values. Its
// keys and values are checked with the model (checkTags).
func (d *decoder) tags(o object) Tags {
	n := o.get("tags")
	if n == nil {
		return nil
	}
	path := join(o.path, "tags")
	if n.Kind != yaml.MappingNode {
		d.errAt(n, path, "", "%s is not a mapping; valid: key: value pairs such as {Name: web}", describe(n))
		return nil
	}
	out := Tags{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			d.noteAt(k, path, "", "%s is not a valid tag key; valid: a string", describe(k))
			continue
		}
		field := join(path, k.Value)
		val := ""
		if v != nil && v.Kind != yaml.ScalarNode {
			d.errAt(v, field, "", "%s is not a valid tag value; valid: a string", describe(v))
			continue
		} else if v != nil && v.Tag != "!!null" {
			val = v.Value
		}
		if _, dup := out[k.Value]; dup {
			d.noteAt(k, field, "", "tag %q is given twice; valid: each key once", k.Value)
		}
		d.pos[field] = k
		if v != nil {
			d.pos[field+tagValueAt] = v
		}
		out[k.Value] = val
	}
	return out
}

// routeAux keeps what the file wrote of a route's target, for the checks.
type routeAux struct {
	target     string // "" when absent (a blackhole route)
	targetKind TargetKind
	state      string // "", "active" or "blackhole"; routeStateAuto for a model
}

// routeStateAuto is the state of a route of a model built in code: what
// its target makes it (RefreshRouteStates), not a state to check.
const routeStateAuto = "auto"

func (d *decoder) routeTable(n *yaml.Node, path string, i int) (RouteTable, bool) {
	o, ok := d.mapping(n, path, rtKeys...)
	if !ok {
		return RouteTable{}, false
	}
	rt := RouteTable{Pos: pos(o.node)}
	rt.ID = d.str(o, "id", true)
	rt.VPC = d.str(o, "vpc", false)
	rt.Main = d.boolean(o, "main")
	items, _ := d.list(o, "routes")
	for j, rn := range items {
		p := index(join(path, "routes"), j)
		r, ok := d.route(rn, p, i, j)
		d.mark(p, ok)
		rt.Routes = append(rt.Routes, r)
	}
	rt.Tags = d.tags(o)
	return rt, true
}

// targetKinds are the kinds a route's target_kind may name.
var targetKinds = []TargetKind{TargetIGW, TargetEIGW, TargetNAT, TargetENI, TargetInstance, TargetPeering}

func (d *decoder) route(n *yaml.Node, path string, table, j int) (Route, bool) {
	o, ok := d.mapping(n, path, routeKeys...)
	if !ok {
		return Route{}, false
	}
	r := Route{Pos: pos(o.node)}
	if v, vn, ok := d.scalar(o, "destination", false); ok {
		fam := 4
		if strings.Contains(v, ":") {
			fam = 6
		}
		r.Dest = d.parsePrefix(vn, join(path, "destination"), v, fam)
	}
	r.DestPrefixList = d.str(o, "destination_prefix_list", false)
	aux := routeAux{}
	aux.target = d.str(o, "target", false)
	if v, vn, present := d.scalar(o, "target_kind", false); present {
		for _, k := range targetKinds {
			if string(k) == v {
				aux.targetKind = k
			}
		}
		if aux.targetKind == "" {
			d.errAt(vn, join(path, "target_kind"), "InvalidParameterValue", "%q is not a target kind; valid: %s", v, kindNames())
		}
	}
	if v, vn, present := d.scalar(o, "state", false); present {
		switch v {
		case "active", "blackhole":
			aux.state = v
		default:
			d.errAt(vn, join(path, "state"), "InvalidParameterValue", "%q is not a route state; valid: active or blackhole (RT-14)", v)
		}
	}
	r.Blackhole = aux.state == "blackhole" || aux.target == ""
	r.Propagated = d.boolean(o, "propagated")
	if d.routeAux == nil {
		d.routeAux = map[[2]int]routeAux{}
	}
	d.routeAux[[2]int{table, j}] = aux
	return r, true
}

func (d *decoder) internetGateway(n *yaml.Node, path string, _ int) (InternetGateway, bool) {
	o, ok := d.mapping(n, path, igwKeys...)
	if !ok {
		return InternetGateway{}, false
	}
	g := InternetGateway{Pos: pos(o.node)}
	g.ID = d.str(o, "id", true)
	g.VPC = d.str(o, "vpc", false)
	g.Tags = d.tags(o)
	return g, true
}

func (d *decoder) egressOnlyGateway(n *yaml.Node, path string, _ int) (EgressOnlyGateway, bool) {
	o, ok := d.mapping(n, path, igwKeys...)
	if !ok {
		return EgressOnlyGateway{}, false
	}
	g := EgressOnlyGateway{Pos: pos(o.node)}
	g.ID = d.str(o, "id", true)
	g.VPC = d.str(o, "vpc", false)
	g.Tags = d.tags(o)
	return g, true
}

func (d *decoder) natGateway(n *yaml.Node, path string, _ int) (NATGateway, bool) {
	o, ok := d.mapping(n, path, natKeys...)
	if !ok {
		return NATGateway{}, false
	}
	g := NATGateway{Pos: pos(o.node), PortPolicy: "random"}
	g.ID = d.str(o, "id", true)
	g.Subnet = d.str(o, "subnet", true)
	g.ENI = d.str(o, "eni", false)
	g.PrivateIP = d.addr(o, "private_ip", 4, false)
	if v, vn, present := d.scalar(o, "connectivity", false); present {
		switch v {
		case "public":
		case "private":
			g.Private = true
		default:
			d.errAt(vn, join(path, "connectivity"), "InvalidParameterValue", "%q is not a connectivity type; valid: public or private", v)
		}
	}
	g.ElasticIP = d.str(o, "elastic_ip", false)
	if v, _, present := d.scalar(o, "port_policy", false); present {
		g.PortPolicy = v
	}
	g.Tags = d.tags(o)
	return g, true
}

func (d *decoder) elasticIP(n *yaml.Node, path string, _ int) (ElasticIP, bool) {
	o, ok := d.mapping(n, path, eipKeys...)
	if !ok {
		return ElasticIP{}, false
	}
	e := ElasticIP{Pos: pos(o.node)}
	e.ID = d.str(o, "id", true)
	e.PublicIP = d.addr(o, "public_ip", 4, true)
	// An instance id here means its primary ENI; resolved with the other references.
	e.ENI = d.str(o, "network_interface", false)
	e.PrivateIP = d.addr(o, "private_ip", 4, false)
	e.Tags = d.tags(o)
	return e, true
}

func (d *decoder) peering(n *yaml.Node, path string, _ int) (Peering, bool) {
	o, ok := d.mapping(n, path, pcxKeys...)
	if !ok {
		return Peering{}, false
	}
	p := Peering{Pos: pos(o.node), State: "active"}
	p.ID = d.str(o, "id", true)
	p.Requester = d.str(o, "requester_vpc", true)
	p.Accepter = d.str(o, "accepter_vpc", true)
	if v, _, present := d.scalar(o, "state", false); present {
		p.State = v
	}
	p.Tags = d.tags(o)
	return p, true
}

func (d *decoder) endpoint(n *yaml.Node, path string, _ int) (Endpoint, bool) {
	o, ok := d.mapping(n, path, vpceKeys...)
	if !ok {
		return Endpoint{}, false
	}
	e := Endpoint{Pos: pos(o.node)}
	e.ID = d.str(o, "id", true)
	e.VPC = d.str(o, "vpc", false)
	e.Service = d.str(o, "service", true)
	e.RouteTables, _ = d.strList(o, "route_tables")
	e.Tags = d.tags(o)
	return e, true
}

// targetKindOf guesses a missing target's kind from AWS's id prefixes, for
// routes kept as blackholes after their target went away.
func targetKindOf(id string) TargetKind {
	for _, p := range []struct {
		prefix string
		kind   TargetKind
	}{{"igw-", TargetIGW}, {"eigw-", TargetEIGW}, {"nat-", TargetNAT}, {"eni-", TargetENI}, {"i-", TargetInstance}, {"pcx-", TargetPeering}} {
		if strings.HasPrefix(id, p.prefix) {
			return p.kind
		}
	}
	return TargetNone
}

// notFoundCode is AWS's error code for an unknown target of the given kind.
func notFoundCode(k TargetKind) string {
	switch k {
	case TargetNAT:
		return "InvalidNatGatewayID.NotFound"
	case TargetENI:
		return "InvalidNetworkInterfaceID.NotFound"
	case TargetInstance:
		return "InvalidInstanceID.NotFound"
	case TargetPeering:
		return "InvalidVpcPeeringConnectionID.NotFound"
	}
	return "InvalidGatewayID.NotFound"
}
