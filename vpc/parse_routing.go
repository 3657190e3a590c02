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

// vpcSet is the set of the file's VPC ids, for references and messages.
func (d *decoder) vpcSet() map[string]bool {
	set := map[string]bool{}
	for _, v := range d.t.VPCs {
		if v.ID != "" {
			set[v.ID] = true
		}
	}
	return set
}

// vpcOf decodes an object's vpc: field. It may be left out when the file
// has one VPC, or when implied names the VPC (an id that is a VPC's default
// object); otherwise a missing vpc: is an error that lists the choices.
func (d *decoder) vpcOf(o object, implied string) string {
	ids := d.vpcSet()
	v, n, ok := d.scalar(o, "vpc", false)
	switch {
	case ok && !ids[v]:
		d.errAt(n, join(o.path, "vpc"), "InvalidVpcID.NotFound", "unknown VPC %q; valid: %s", v, choices(ids))
		return ""
	case ok:
		return v
	case n != nil:
		return "" // not a scalar: already reported
	case implied != "":
		return implied
	case len(d.t.VPCs) == 1:
		return d.t.VPCs[0].ID
	}
	d.errAt(o.node, join(o.path, "vpc"), "MissingParameter", "missing; a file with several VPCs names each object's VPC; valid: %s", choices(ids))
	return ""
}

// vpcWithDefault returns the VPC whose default object (as def reads it) is id, or "".
func (d *decoder) vpcWithDefault(id string, def func(*VPC) string) string {
	for i := range d.t.VPCs {
		if v := &d.t.VPCs[i]; id != "" && def(v) == id {
			return v.ID
		}
	}
	return ""
}

// AWS's tag limits (TagLimitExceeded, InvalidParameterValue).
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// tags decodes an object's tags: a mapping of keys to string values.
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
			d.errAt(k, path, "", "%s is not a valid tag key; valid: a string", describe(k))
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
		switch {
		case k.Value == "" || len(k.Value) > maxTagKeyLen:
			d.errAt(k, field, "InvalidParameterValue", "tag key %q is not valid; valid: 1-%d characters", k.Value, maxTagKeyLen)
		case strings.HasPrefix(strings.ToLower(k.Value), "aws:"):
			d.errAt(k, field, "InvalidParameterValue", "tag key %q starts with aws:, which AWS reserves; valid: another key", k.Value)
		case len(val) > maxTagValueLen:
			d.errAt(v, field, "InvalidParameterValue", "tag value is %d characters; valid: at most %d", len(val), maxTagValueLen)
		}
		if _, dup := out[k.Value]; dup {
			d.errAt(k, field, "", "tag %q is given twice; valid: each key once", k.Value)
		}
		out[k.Value] = val
	}
	if len(out) > maxTags {
		d.errAt(n, path, "TagLimitExceeded", "%d tags; valid: at most %d per resource", len(out), maxTags)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// routeAux keeps what the file wrote of a route until targets are resolved.
type routeAux struct {
	target     string // "" when absent (a blackhole route)
	targetKind TargetKind
	state      string // "", "active" or "blackhole"
}

func (d *decoder) routeTable(n *yaml.Node, path string) (RouteTable, bool) {
	o, ok := d.mapping(n, path, rtKeys...)
	if !ok {
		return RouteTable{}, false
	}
	rt := RouteTable{Pos: pos(o.node)}
	rt.ID = d.str(o, "id", true, reID, validID)
	rt.VPC = d.vpcOf(o, d.vpcWithDefault(rt.ID, func(v *VPC) string { return v.MainTable }))
	rt.Main = d.boolean(o, "main")
	items, _ := d.list(o, "routes")
	for j, rn := range items {
		p := index(join(path, "routes"), j)
		r, ok := d.route(rn, p)
		d.mark(p, ok)
		rt.Routes = append(rt.Routes, r)
	}
	rt.Tags = d.tags(o)
	return rt, true
}

// targetKinds are the kinds a route's target_kind may name.
var targetKinds = []TargetKind{TargetIGW, TargetEIGW, TargetNAT, TargetENI, TargetInstance, TargetPeering}

func (d *decoder) route(n *yaml.Node, path string) (Route, bool) {
	o, ok := d.mapping(n, path, routeKeys...)
	if !ok {
		return Route{}, false
	}
	r := Route{Pos: pos(o.node)}
	hasDest, hasPL := o.get("destination") != nil, o.get("destination_prefix_list") != nil
	switch {
	case hasDest && hasPL:
		d.errf(join(path, "destination_prefix_list"), "InvalidParameterCombination", "a route has one destination but this one also has destination; valid: exactly one of destination, destination_prefix_list")
		ok = false
	case hasDest:
		v, vn, sok := d.scalar(o, "destination", true)
		fam := 4
		if strings.Contains(v, ":") {
			fam = 6
		}
		if sok {
			// RT-12: AWS keeps the canonical form of a CIDR written with host bits.
			r.Dest = d.parsePrefix(vn, join(path, "destination"), v, fam, true)
		}
		ok = r.Dest.IsValid()
	case hasPL:
		r.DestPrefixList = d.str(o, "destination_prefix_list", true, nil, "")
	default:
		d.errAt(o.node, path, "MissingParameter", "a route needs a destination; valid: exactly one of destination (an IPv4 or IPv6 CIDR), destination_prefix_list")
		ok = false
	}
	aux := routeAux{}
	aux.target = d.str(o, "target", false, nil, "")
	if v, vn, present := d.scalar(o, "target_kind", false); present {
		for _, k := range targetKinds {
			if string(k) == v {
				aux.targetKind = k
			}
		}
		if aux.targetKind == "" {
			kinds := make([]string, len(targetKinds))
			for i, k := range targetKinds {
				kinds[i] = string(k)
			}
			d.errAt(vn, join(path, "target_kind"), "InvalidParameterValue", "%q is not a target kind; valid: %s", v, strings.Join(kinds, ", "))
			ok = false
		}
	}
	if v, vn, present := d.scalar(o, "state", false); present {
		switch v {
		case "active", "blackhole":
			aux.state = v
		default:
			d.errAt(vn, join(path, "state"), "InvalidParameterValue", "%q is not a route state; valid: active or blackhole (RT-14)", v)
			ok = false
		}
	}
	r.Blackhole = aux.state == "blackhole" || aux.target == ""
	r.Propagated = d.boolean(o, "propagated")
	if d.routeAux == nil {
		d.routeAux = map[string]routeAux{}
	}
	d.routeAux[path] = aux
	return r, ok
}

func (d *decoder) internetGateway(n *yaml.Node, path string) (InternetGateway, bool) {
	o, ok := d.mapping(n, path, igwKeys...)
	if !ok {
		return InternetGateway{}, false
	}
	g := InternetGateway{Pos: pos(o.node)}
	g.ID = d.str(o, "id", true, reID, validID)
	// An internet gateway exists detached until attached (vpc absent).
	if o.present("vpc") {
		g.VPC = d.vpcOf(o, "")
	}
	g.Tags = d.tags(o)
	return g, true
}

func (d *decoder) egressOnlyGateway(n *yaml.Node, path string) (EgressOnlyGateway, bool) {
	o, ok := d.mapping(n, path, igwKeys...)
	if !ok {
		return EgressOnlyGateway{}, false
	}
	g := EgressOnlyGateway{Pos: pos(o.node)}
	g.ID = d.str(o, "id", true, reID, validID)
	g.VPC = d.vpcOf(o, "")
	g.Tags = d.tags(o)
	return g, true
}

func (d *decoder) natGateway(n *yaml.Node, path string) (NATGateway, bool) {
	o, ok := d.mapping(n, path, natKeys...)
	if !ok {
		return NATGateway{}, false
	}
	g := NATGateway{Pos: pos(o.node)}
	g.ID = d.str(o, "id", true, reID, validID)
	g.Subnet = d.str(o, "subnet", true, nil, "")
	g.ENI = d.str(o, "eni", false, reENI, "eni- followed by 1-32 characters from A-Z a-z 0-9 -")
	if g.ENI == "" && g.ID != "" {
		g.ENI = ENIID(d.t.Name, g.ID)
	}
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
	g.ElasticIP = d.str(o, "elastic_ip", false, nil, "")
	g.PortPolicy = "random"
	if v, vn, present := d.scalar(o, "port_policy", false); present {
		switch v {
		case "random", "sequential":
			g.PortPolicy = v
		default:
			d.errAt(vn, join(path, "port_policy"), "InvalidParameterValue", "%q is not a port policy; valid: random or sequential (lowest free port from 1024, for tests)", v)
		}
	}
	g.Tags = d.tags(o)
	return g, true
}

func (d *decoder) elasticIP(n *yaml.Node, path string) (ElasticIP, bool) {
	o, ok := d.mapping(n, path, eipKeys...)
	if !ok {
		return ElasticIP{}, false
	}
	e := ElasticIP{Pos: pos(o.node)}
	e.ID = d.str(o, "id", true, reID, validID)
	e.PublicIP = d.addr(o, "public_ip", 4, true)
	// An instance id here means its primary ENI; resolved with the other references.
	e.ENI = d.str(o, "network_interface", false, nil, "")
	e.PrivateIP = d.addr(o, "private_ip", 4, false)
	e.Tags = d.tags(o)
	return e, true
}

func (d *decoder) peering(n *yaml.Node, path string) (Peering, bool) {
	o, ok := d.mapping(n, path, pcxKeys...)
	if !ok {
		return Peering{}, false
	}
	p := Peering{Pos: pos(o.node), State: "active"}
	p.ID = d.str(o, "id", true, reID, validID)
	ids := d.vpcSet()
	for _, side := range []struct {
		key string
		dst *string
	}{{"requester_vpc", &p.Requester}, {"accepter_vpc", &p.Accepter}} {
		v, vn, present := d.scalar(o, side.key, true)
		if !present {
			continue
		}
		if !ids[v] {
			d.errAt(vn, join(path, side.key), "InvalidVpcID.NotFound", "unknown VPC %q; valid: %s", v, choices(ids))
			continue
		}
		*side.dst = v
	}
	if v, vn, present := d.scalar(o, "state", false); present {
		valid := false
		for _, s := range PeeringStates {
			valid = valid || s == v
		}
		if !valid {
			d.errAt(vn, join(path, "state"), "InvalidParameterValue", "%q is not a peering state; valid: %s", v, strings.Join(PeeringStates, ", "))
		} else {
			p.State = v
		}
	}
	p.Tags = d.tags(o)
	return p, true
}

func (d *decoder) endpoint(n *yaml.Node, path string) (Endpoint, bool) {
	o, ok := d.mapping(n, path, vpceKeys...)
	if !ok {
		return Endpoint{}, false
	}
	e := Endpoint{Pos: pos(o.node)}
	e.ID = d.str(o, "id", true, reID, validID)
	e.VPC = d.vpcOf(o, "")
	if v, vn, present := d.scalar(o, "service", true); present {
		e.Service = v
		m := reService.FindStringSubmatch(v)
		switch {
		case m == nil:
			d.errAt(vn, join(path, "service"), "InvalidServiceName", "%q is not a gateway endpoint service; valid: com.amazonaws.%s.s3 or com.amazonaws.%s.dynamodb (VPCE-1)", v, d.t.Region, d.t.Region)
		case m[1] != d.t.Region:
			d.errAt(vn, join(path, "service"), "InvalidServiceName", "%q is in region %s but the topology is in %s; valid: com.amazonaws.%s.%s (a gateway endpoint serves its own region, VPCE-1)", v, m[1], d.t.Region, d.t.Region, m[2])
		}
	}
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
