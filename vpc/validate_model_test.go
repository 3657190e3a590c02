package vpc_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
	"github.com/vpcemu/vpcemu/vpc/vpctest"
)

// A topology Parse made is already what Validate makes of it: Validate
// accepts it and changes nothing (but positions: the objects Parse would
// add by itself are made anew).
func TestValidateParsedIsIdentity(t *testing.T) {
	check := func(name string, topo *vpc.Topology) {
		t.Helper()
		c := topo.Clone()
		if err := vpc.Validate(c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		vpc.ClearIncidentals(topo)
		vpc.ClearIncidentals(c)
		if d := vpc.Diff(topo, c); d != "" {
			t.Fatalf("%s: Validate changed %s", name, d)
		}
	}
	check("lab", vpc.Lab())
	t2, err := vpc.Load("../examples/routing/t2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	check("t2", t2)
	gen, err := vpc.Parse("gen.yaml", vpc.Generate("rt", 250))
	if err != nil {
		t.Fatal(err)
	}
	check("generated", gen)
	for seed := range uint64(100) {
		check(fmt.Sprint("seed ", seed), vpctest.Random(rand.New(rand.NewPCG(seed, 5)), vpctest.Options{}))
	}
}

// The property the EC2 API relies on: for random topologies and random
// edits of the kinds its actions make (valid or not), Validate and
// Parse(t.YAML()) accept the same topologies, refuse the others with the
// same errors (fields and AWS codes; messages differ only where a file
// has line numbers), and Validate completes an accepted topology into
// what Parse makes of its export.
func TestValidateAgreesWithParseOfExport(t *testing.T) {
	seeds, rounds := uint64(150), 6
	if testing.Short() {
		seeds = 30
	}
	accepted, refused := 0, 0
	for seed := range seeds {
		r := rand.New(rand.NewPCG(seed, 77))
		topo := vpctest.Random(r, vpctest.Options{})
		for round := range rounds {
			edited := topo.Clone()
			var did []string
			for range 1 + r.IntN(3) {
				did = append(did, randomEdit(r, edited))
			}
			want, perr := vpc.Parse("export.yaml", edited.YAML())
			got := edited.Clone()
			verr := vpc.Validate(got)
			where := fmt.Sprintf("seed %d round %d (%s)", seed, round, strings.Join(did, "; "))
			if (perr == nil) != (verr == nil) {
				t.Fatalf("%s: Parse of the export says %v\nValidate says %v\n%s", where, perr, verr, edited.YAML())
			}
			if perr != nil {
				refused++
				if p, v := errorKeys(perr), errorKeys(verr); !slices.Equal(p, v) {
					t.Fatalf("%s: the errors differ\nParse of the export: %s\nValidate:            %s\n%v\n%v", where, p, v, perr, verr)
				}
				continue
			}
			accepted++
			vpc.ClearIncidentals(want)
			vpc.ClearIncidentals(got)
			if d := vpc.Diff(want, got); d != "" {
				t.Fatalf("%s: Validate completed the topology otherwise than Parse of its export: %s\n%s", where, d, edited.YAML())
			}
			if r.IntN(2) == 0 {
				topo = got // go on from the edited topology
			}
		}
	}
	t.Logf("%d edited topologies accepted, %d refused", accepted, refused)
	if accepted < int(seeds) || refused < int(seeds) {
		t.Errorf("%d edited topologies accepted and %d refused: the edits should give plenty of both", accepted, refused)
	}
}

// errorKeys is the field and code of each error, sorted.
func errorKeys(err error) []string {
	var list vpc.ErrorList
	if !errors.As(err, &list) {
		return []string{"not an ErrorList: " + err.Error()}
	}
	var out []string
	for _, e := range list {
		out = append(out, e.Field+" "+e.Code)
	}
	slices.Sort(out)
	return out
}

// randomEdit changes t as one of the EC2 API's actions would, with
// arguments that are sometimes wrong; it says what it did.
func randomEdit(r *rand.Rand, t *vpc.Topology) string {
	pick := func(n int) int { return r.IntN(max(n, 1)) }
	coin := func(p float64) bool { return r.Float64() < p }
	id := func(prefix string) string { return fmt.Sprintf("%s-%d", prefix, r.IntN(40)) }
	vpcID := func() string {
		if coin(0.05) {
			return "vpc-nope"
		}
		return t.VPCs[pick(len(t.VPCs))].ID
	}
	anyID := func() string {
		var ids []string
		for _, g := range t.SecurityGroups {
			ids = append(ids, g.ID)
		}
		for _, s := range t.Subnets {
			ids = append(ids, s.ID)
		}
		for _, in := range t.Instances {
			ids = append(ids, in.ID, in.ENI.ID)
		}
		for _, g := range t.InternetGateways {
			ids = append(ids, g.ID)
		}
		for _, g := range t.NATGateways {
			ids = append(ids, g.ID)
		}
		for _, p := range t.Peerings {
			ids = append(ids, p.ID)
		}
		ids = append(ids, "igw-gone", "nat-gone", "eni-gone", "thing")
		return ids[pick(len(ids))]
	}
	cidr4 := func() netip.Prefix {
		if coin(0.3) && len(t.Subnets) > 0 {
			return t.Subnets[pick(len(t.Subnets))].CIDR
		}
		a := netip.AddrFrom4([4]byte{byte([]int{10, 192, 198, 203, 169}[pick(5)]), byte(pick(256)), byte(pick(256)), byte(pick(256))})
		return netip.PrefixFrom(a, []int{8, 16, 24, 28, 32}[pick(5)]) // host bits and all, sometimes
	}
	cidr6 := func() netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(pick(4)), 0, 0, byte(pick(3))}), []int{0, 48, 56, 64}[pick(4)])
	}
	sgRule := func() vpc.SGRule {
		rule := vpc.SGRule{Protocol: []int{vpc.ProtoTCP, vpc.ProtoUDP, vpc.ProtoICMP, vpc.ProtoICMPv6, vpc.ProtoAll, 47, 300}[pick(7)]}
		from := []int{22, 80, 443, 1024, 70000}[pick(5)]
		rule.Ports = vpc.PortRange{From: from, To: from + []int{0, 0, 10, -5}[pick(4)]}
		rule.ICMPType, rule.ICMPCode = []int{-1, 0, 8, 300}[pick(4)], []int{-1, -1, 0, 3}[pick(4)]
		switch pick(6) {
		case 0, 1:
			rule.CIDR = cidr4()
		case 2:
			rule.CIDR = cidr6()
		case 3:
			if len(t.SecurityGroups) > 0 && coin(0.9) {
				rule.SourceGroup = t.SecurityGroups[pick(len(t.SecurityGroups))].ID
			} else {
				rule.SourceGroup = "sg-nope"
			}
		case 4:
			rule.PrefixList = []string{"pl-c1", "pl-c6", "pl-nope"}[pick(3)]
		case 5:
			if coin(0.5) {
				rule.CIDR, rule.SourceGroup = cidr4(), "default" // two peers
			}
		}
		if coin(0.3) {
			rule.ID = id("sgr")
		}
		if coin(0.05) {
			rule.Description = strings.Repeat("d", 256)
		}
		return rule
	}
	refresh := func(what string) string { t.RefreshRouteStates(); return what }

	switch pick(24) {
	case 0: // AuthorizeSecurityGroupIngress/Egress
		if len(t.SecurityGroups) == 0 {
			return "nothing"
		}
		g := &t.SecurityGroups[pick(len(t.SecurityGroups))]
		for range 1 + pick(3) {
			if coin(0.5) {
				g.Ingress = append(g.Ingress, sgRule())
			} else {
				g.Egress = append(g.Egress, sgRule())
			}
		}
		return "authorize " + g.ID
	case 1: // RevokeSecurityGroupIngress, or a rule given twice
		if len(t.SecurityGroups) == 0 {
			return "nothing"
		}
		g := &t.SecurityGroups[pick(len(t.SecurityGroups))]
		if len(g.Ingress) == 0 {
			return "nothing"
		}
		k := pick(len(g.Ingress))
		if coin(0.3) {
			dup := g.Ingress[k]
			dup.ID = ""
			g.Ingress = append(g.Ingress, dup)
			return "duplicate rule of " + g.ID
		}
		g.Ingress = slices.Delete(g.Ingress, k, k+1)
		return "revoke from " + g.ID
	case 2: // CreateSecurityGroup
		g := vpc.SecurityGroup{ID: id("sg"), VPC: vpcID(), Name: []string{"", "web", "db", "sg-bad", "default"}[pick(5)], Description: "d"}
		if coin(0.7) {
			g.Egress = []vpc.SGRule{{Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}}
		}
		t.SecurityGroups = append(t.SecurityGroups, g)
		return "create group " + g.ID
	case 3: // DeleteSecurityGroup
		if len(t.SecurityGroups) == 0 {
			return "nothing"
		}
		k := pick(len(t.SecurityGroups))
		gid := t.SecurityGroups[k].ID
		t.SecurityGroups = slices.Delete(t.SecurityGroups, k, k+1)
		return "delete group " + gid
	case 4: // CreateNetworkAclEntry
		if len(t.NetworkACLs) == 0 {
			return "nothing"
		}
		a := &t.NetworkACLs[pick(len(t.NetworkACLs))]
		e := vpc.NACLRule{Number: []int{100, 101, 200, 0, 32767, 1 + pick(300)}[pick(6)], Protocol: []int{vpc.ProtoAll, vpc.ProtoTCP, vpc.ProtoICMP}[pick(3)],
			Ports: vpc.PortRange{From: 22, To: 22}, ICMPType: -1, ICMPCode: -1, Allow: coin(0.5)}
		if coin(0.7) {
			e.CIDR = cidr4()
		} else {
			e.CIDR = cidr6()
		}
		if coin(0.5) {
			a.Ingress = append(a.Ingress, e)
		} else {
			a.Egress = append(a.Egress, e)
		}
		return "nacl entry in " + a.ID
	case 5: // CreateNetworkAcl and ReplaceNetworkAclAssociation
		a := vpc.NetworkACL{ID: id("acl"), VPC: vpcID()}
		t.NetworkACLs = append(t.NetworkACLs, a)
		if len(t.Subnets) > 0 {
			t.Subnets[pick(len(t.Subnets))].NetworkACL = a.ID
		}
		return "create nacl " + a.ID
	case 6: // RunInstances
		if len(t.Subnets) == 0 {
			return "nothing"
		}
		s := t.Subnets[pick(len(t.Subnets))]
		ip := s.CIDR.Addr().As4()
		ip[3] = byte([]int{0, 1, 4 + pick(200), 255}[pick(4)])
		in := vpc.Instance{ID: id("i"), OS: "amazon-linux", Conntrack: vpc.DefaultConntrack,
			ENI: vpc.ENI{ID: id("eni"), Subnet: s.ID, PrivateIP: netip.AddrFrom4(ip)}}
		if coin(0.2) {
			in.ENI.ID = ""
		}
		if coin(0.2) {
			in.ENI.Subnet = "subnet-nope"
		}
		for range pick(3) * min(len(t.SecurityGroups), 1) {
			in.ENI.SecurityGroups = append(in.ENI.SecurityGroups, t.SecurityGroups[pick(len(t.SecurityGroups))].ID)
		}
		if coin(0.2) {
			in.ENI.PublicIP = netip.AddrFrom4([4]byte{203, 0, 113, byte(pick(256))})
		}
		if coin(0.1) {
			in.Services = []vpc.Service{{Kind: "ssh"}, {Kind: "tcp", Port: 22}}
		}
		t.Instances = append(t.Instances, in)
		return "run " + in.ID
	case 7: // TerminateInstances
		if len(t.Instances) == 0 {
			return "nothing"
		}
		k := pick(len(t.Instances))
		iid := t.Instances[k].ID
		t.Instances = slices.Delete(t.Instances, k, k+1)
		return refresh("terminate " + iid)
	case 8: // CreateRoute, ReplaceRoute
		if len(t.RouteTables) == 0 {
			return "nothing"
		}
		rt := &t.RouteTables[pick(len(t.RouteTables))]
		rte := vpc.Route{}
		switch pick(4) {
		case 0, 1:
			rte.Dest = cidr4()
		case 2:
			rte.Dest = cidr6()
		case 3:
			rte.DestPrefixList = []string{"pl-c1", "pl-c6", "pl-nope"}[pick(3)]
		}
		target := anyID()
		kind := vpc.TargetKind("")
		switch {
		case strings.HasPrefix(target, "igw"):
			kind = vpc.TargetIGW
		case strings.HasPrefix(target, "nat"):
			kind = vpc.TargetNAT
		case strings.HasPrefix(target, "eni"):
			kind = vpc.TargetENI
		case strings.HasPrefix(target, "i-"):
			kind = vpc.TargetInstance
		case strings.HasPrefix(target, "pcx"):
			kind = vpc.TargetPeering
		}
		rte.Target = vpc.RouteTarget{Kind: kind, ID: target}
		if coin(0.1) {
			rte.Target = vpc.RouteTarget{}
		}
		if k := slices.IndexFunc(rt.Routes, func(x vpc.Route) bool { return x.Dest == rte.Dest && x.DestPrefixList == rte.DestPrefixList }); k >= 0 && coin(0.8) {
			rt.Routes[k].Target = rte.Target // ReplaceRoute
		} else {
			rt.Routes = append(rt.Routes, rte)
		}
		vpc.SortRoutes(rt.Routes)
		return refresh("route in " + rt.ID)
	case 9: // DeleteRoute
		if len(t.RouteTables) == 0 {
			return "nothing"
		}
		rt := &t.RouteTables[pick(len(t.RouteTables))]
		if len(rt.Routes) == 0 {
			return "nothing"
		}
		k := pick(len(rt.Routes))
		rt.Routes = slices.Delete(rt.Routes, k, k+1)
		return "delete route of " + rt.ID
	case 10: // CreateSubnet
		v := t.VPCs[pick(len(t.VPCs))]
		b := v.CIDR.Addr().As4()
		b[2] = byte(pick(256))
		s := vpc.Subnet{ID: id("subnet"), VPC: v.ID, CIDR: netip.PrefixFrom(netip.AddrFrom4(b), []int{24, 24, 20, 29}[pick(4)]), AZ: t.Region + []string{"a", "b"}[pick(2)],
			Public: coin(0.2)}
		if coin(0.1) {
			s.CIDR = cidr4()
		}
		t.Subnets = append(t.Subnets, s)
		return "create subnet " + s.ID
	case 11: // DeleteSubnet
		if len(t.Subnets) == 0 {
			return "nothing"
		}
		k := pick(len(t.Subnets))
		sid := t.Subnets[k].ID
		t.Subnets = slices.Delete(t.Subnets, k, k+1)
		return "delete subnet " + sid
	case 12: // CreateTags, DeleteTags
		tags := vpc.Tags{"Name": "x"}
		switch pick(5) {
		case 0:
			tags["aws:reserved"] = "x"
		case 1:
			tags[strings.Repeat("k", 129)] = "x"
		case 2:
			tags["v"] = strings.Repeat("v", 257)
		case 3:
			tags = vpc.Tags{}
		}
		switch pick(4) {
		case 0:
			t.VPCs[pick(len(t.VPCs))].Tags = tags
		case 1:
			if len(t.SecurityGroups) > 0 {
				t.SecurityGroups[pick(len(t.SecurityGroups))].Tags = tags
			}
		case 2:
			if len(t.Instances) > 0 {
				t.Instances[pick(len(t.Instances))].Tags = tags
			}
		case 3:
			if len(t.RouteTables) > 0 {
				t.RouteTables[pick(len(t.RouteTables))].Tags = tags
			}
		}
		return "tags"
	case 13: // AllocateAddress, AssociateAddress
		e := vpc.ElasticIP{ID: id("eipalloc"), PublicIP: netip.AddrFrom4([4]byte{198, 51, 100, byte(pick(256))})}
		if coin(0.1) {
			e.PublicIP = netip.MustParseAddr("10.1.0.9")
		}
		if len(t.Instances) > 0 && coin(0.6) {
			in := t.Instances[pick(len(t.Instances))]
			e.ENI = []string{in.ID, in.ENI.ID}[pick(2)]
			if coin(0.3) {
				e.PrivateIP = in.ENI.PrivateIP
			}
		}
		t.ElasticIPs = append(t.ElasticIPs, e)
		return "allocate " + e.ID
	case 14: // DisassociateAddress
		if len(t.ElasticIPs) == 0 {
			return "nothing"
		}
		e := &t.ElasticIPs[pick(len(t.ElasticIPs))]
		if t.NATGatewayByENI(e.ENI) != nil {
			return "nothing"
		}
		e.ENI, e.PrivateIP = "", netip.Addr{}
		return "disassociate " + e.ID
	case 15: // DetachInternetGateway, AttachInternetGateway
		if len(t.InternetGateways) == 0 {
			return "nothing"
		}
		g := &t.InternetGateways[pick(len(t.InternetGateways))]
		if g.VPC != "" && coin(0.7) {
			g.VPC = ""
			return refresh("detach " + g.ID)
		}
		g.VPC = vpcID()
		return refresh("attach " + g.ID)
	case 16: // AcceptVpcPeeringConnection, DeleteVpcPeeringConnection, CreateVpcPeeringConnection
		if len(t.Peerings) > 0 && coin(0.6) {
			p := &t.Peerings[pick(len(t.Peerings))]
			p.State = vpc.PeeringStates[pick(len(vpc.PeeringStates))]
			return refresh("peering " + p.ID + " " + p.State)
		}
		p := vpc.Peering{ID: id("pcx"), Requester: vpcID(), Accepter: vpcID(), State: []string{"active", "pending-acceptance"}[pick(2)]}
		t.Peerings = append(t.Peerings, p)
		return refresh("create peering " + p.ID)
	case 17: // account quotas lowered (tests' limits)
		switch pick(4) {
		case 0:
			t.Limits.RulesPerSecurityGroup = 1 + pick(4)
		case 1:
			t.Limits.SecurityGroupsPerENI = 1
		case 2:
			t.Limits.RoutesPerTable = 1 + pick(3)
		case 3:
			t.Limits.ElasticIPs = 1 + pick(3)
		}
		return "limits"
	case 18: // CreateVpc
		b := [4]byte{10, byte(pick(256)), 0, 0}
		if coin(0.1) {
			b = [4]byte{10, 1, 0, 0}
		}
		v := t.AddVPC(vpc.VPC{ID: id("vpc"), CIDR: netip.PrefixFrom(netip.AddrFrom4(b), 16), DefaultSG: id("sg"), DefaultNACL: id("acl"), MainTable: id("rtb")})
		return "create vpc " + v.ID
	case 19: // CreateFlowLogs
		fl := vpc.FlowLog{ID: id("fl"), Resource: anyID(), TrafficType: []string{"ALL", "ACCEPT", "REJECT", "DROP"}[pick(4)],
			MaxAggregationInterval: []int{60, 600, 0}[pick(3)], FileFormat: "plain-text"}
		t.FlowLogs = append(t.FlowLogs, fl)
		return "flow log " + fl.ID
	case 20: // CreateNatGateway
		if len(t.Subnets) == 0 {
			return "nothing"
		}
		s := t.Subnets[pick(len(t.Subnets))]
		ip := s.CIDR.Addr().As4()
		ip[3] = byte(100 + pick(100))
		g := vpc.NATGateway{ID: id("nat"), Subnet: s.ID, ENI: id("eni"), PrivateIP: netip.AddrFrom4(ip), Private: coin(0.3), PortPolicy: "random"}
		if !g.Private {
			for i := range t.ElasticIPs {
				if e := &t.ElasticIPs[i]; e.ENI == "" && coin(0.7) {
					g.ElasticIP = e.ID
					e.ENI, e.PrivateIP = g.ENI, g.PrivateIP
					break
				}
			}
		}
		t.NATGateways = append(t.NATGateways, g)
		return "create nat " + g.ID
	case 21: // DeleteNatGateway
		if len(t.NATGateways) == 0 {
			return "nothing"
		}
		k := pick(len(t.NATGateways))
		g := t.NATGateways[k]
		t.NATGateways = slices.Delete(t.NATGateways, k, k+1)
		if e := t.ElasticIP(g.ElasticIP); e != nil {
			e.ENI, e.PrivateIP = "", netip.Addr{}
		}
		t.FlowLogs = slices.DeleteFunc(t.FlowLogs, func(fl vpc.FlowLog) bool { return fl.Resource == g.ENI })
		return refresh("delete nat " + g.ID)
	case 22: // AssignPrivateIpAddresses, ModifyNetworkInterfaceAttribute
		if len(t.Instances) == 0 {
			return "nothing"
		}
		in := &t.Instances[pick(len(t.Instances))]
		e := &in.ENI
		if coin(0.5) {
			e.SourceDestCheckDisabled = !e.SourceDestCheckDisabled
			return "source/dest check of " + e.ID
		}
		a := e.PrivateIP.As4()
		a[3] = byte(pick(256))
		e.SecondaryIPs = append(e.SecondaryIPs, netip.AddrFrom4(a))
		return "assign to " + e.ID
	case 23: // CreateRouteTable, AssociateRouteTable
		rt := vpc.RouteTable{ID: id("rtb"), VPC: vpcID()}
		if v := t.VPC(rt.VPC); v != nil {
			rt.Routes = vpc.LocalRoutes(v)
		}
		t.RouteTables = append(t.RouteTables, rt)
		if len(t.Subnets) > 0 && coin(0.7) {
			s := &t.Subnets[pick(len(t.Subnets))]
			s.RouteTable, s.Public = rt.ID, false
		}
		return "create route table " + rt.ID
	}
	return "nothing"
}

// Validate's mistakes name the fields a caller set, with AWS's codes, and
// carry no line.
func TestValidateErrors(t *testing.T) {
	topo := vpc.Lab()
	g := &topo.SecurityGroups[0]
	g.Ingress = append(g.Ingress, vpc.SGRule{Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: 22, To: 22}, SourceGroup: "sg-nope"})
	topo.Instances[0].Conntrack.UDP = 5 * time.Second
	err := vpc.Validate(topo)
	var list vpc.ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("Validate: %v", err)
	}
	want := []string{
		fmt.Sprintf("security_groups[0].ingress[%d].source_group: unknown security group \"sg-nope\"; valid: %s (InvalidGroup.NotFound)", len(g.Ingress)-1, groupIDs(topo)),
		"instances[0].conntrack.udp_timeout: \"5\" is not valid; valid: seconds from 30 to 60 (InvalidParameterValue)",
	}
	for i, e := range list {
		if e.Line != 0 || e.File != "" || e.Error() != want[i] {
			t.Errorf("error %d: %q (line %d), want %q", i, e.Error(), e.Line, want[i])
		}
	}
}

func groupIDs(t *vpc.Topology) string {
	var ids []string
	for _, g := range t.SecurityGroups {
		ids = append(ids, g.ID)
	}
	slices.Sort(ids)
	return strings.Join(ids, ", ")
}

// Validate is safe for concurrent use on distinct topologies (it keeps
// its maps in a pool between calls).
func TestValidateConcurrent(t *testing.T) {
	var topos []*vpc.Topology
	for seed := range uint64(8) {
		topos = append(topos, vpctest.Random(rand.New(rand.NewPCG(seed, 9)), vpctest.Options{}))
	}
	bad := vpc.Lab()
	bad.SecurityGroups[0].Ingress[0].SourceGroup = "sg-nope"
	wantBad := vpc.Validate(bad.Clone())
	if wantBad == nil {
		t.Fatal("a rule naming an unknown group validates")
	}
	errs := make(chan error, len(topos))
	for _, topo := range topos {
		go func() {
			for range 20 {
				c := topo.Clone()
				if err := vpc.Validate(c); err != nil {
					errs <- err
					return
				}
				if err := vpc.Validate(bad.Clone()); err == nil || err.Error() != wantBad.Error() {
					errs <- fmt.Errorf("the invalid lab gave %v, want %v", err, wantBad)
					return
				}
				vpc.ClearIncidentals(c)
				o := topo.Clone()
				vpc.ClearIncidentals(o)
				if d := vpc.Diff(o, c); d != "" {
					errs <- errors.New(d)
					return
				}
			}
			errs <- nil
		}()
	}
	for range topos {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
