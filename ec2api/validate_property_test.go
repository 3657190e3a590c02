package ec2api

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
	"github.com/vpcemu/vpcemu/vpc/vpctest"
)

// The API validates an edit with vpc.Validate instead of parsing its
// export: for random requests of many actions against random regions,
// every topology a handler asks to commit is judged alike by both (accepted
// or refused, with the same fields and codes), and what gets committed is
// what Parse makes of the export.
func TestApplyValidatesAsParseOfExport(t *testing.T) {
	seeds, requests := uint64(12), 150
	if testing.Short() {
		seeds = 3
	}
	var applied, refused int
	for seed := range seeds {
		r := rand.New(rand.NewPCG(seed, 31))
		topo := vpctest.Random(r, vpctest.Options{})
		oracle := func(next *vpc.Topology) (*vpc.Topology, error) {
			want, perr := exportValidate(next)
			got, verr := Validate(next.Clone())
			if (perr == nil) != (verr == nil) {
				t.Fatalf("seed %d: Parse of the export says %v\nValidate says %v\n%s", seed, perr, verr, next.YAML())
			}
			if perr != nil {
				refused++
				if p, v := validationKeys(perr), validationKeys(verr); !slices.Equal(p, v) {
					t.Fatalf("seed %d: Parse of the export refuses %v, Validate %v", seed, p, v)
				}
				return nil, verr
			}
			applied++
			w, g := want.Clone(), got.Clone()
			vpc.ClearIncidentals(w)
			vpc.ClearIncidentals(g)
			if d := vpc.Diff(w, g); d != "" {
				t.Fatalf("seed %d: Validate completed the topology otherwise than Parse of its export: %s", seed, d)
			}
			return got, nil
		}
		s := NewServer(Config{Backend: func(string) (Backend, error) { return NewMemory(topo, oracle), nil }})
		reg, _ := s.region("us-east-1")
		for range requests {
			form := randomRequest(r, reg.backend.Topology())
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode())))
			if w.Code >= 500 {
				t.Fatalf("seed %d: %s answered %d: %s", seed, form.Get("Action"), w.Code, w.Body.String())
			}
		}
	}
	t.Logf("%d edits committed, %d refused by validation", applied, refused)
	if applied < int(seeds)*10 || refused < int(seeds) {
		t.Errorf("%d edits committed and %d refused by validation: the requests should give plenty of both", applied, refused)
	}
}

func validationKeys(err error) []string {
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

// randomRequest is a mutating request of one of many actions, with ids of
// t's objects (or unknown ones) and arguments that are sometimes wrong.
func randomRequest(r *rand.Rand, t *vpc.Topology) url.Values {
	pick := func(ids []string) string {
		if len(ids) == 0 || r.IntN(20) == 0 {
			return "nope-0123456789abcdef0"
		}
		return ids[r.IntN(len(ids))]
	}
	var vpcs, subnets, groups, tables, igws, nats, instances, enis, eips, pcxs, acls []string
	for _, v := range t.VPCs {
		vpcs = append(vpcs, v.ID)
	}
	for _, s := range t.Subnets {
		subnets = append(subnets, s.ID)
	}
	for _, g := range t.SecurityGroups {
		groups = append(groups, g.ID)
	}
	for _, rt := range t.RouteTables {
		tables = append(tables, rt.ID)
	}
	for _, g := range t.InternetGateways {
		igws = append(igws, g.ID)
	}
	for _, g := range t.NATGateways {
		nats = append(nats, g.ID)
	}
	for _, in := range t.Instances {
		instances = append(instances, in.ID)
		enis = append(enis, in.ENI.ID)
	}
	for _, e := range t.ElasticIPs {
		eips = append(eips, e.ID)
	}
	for _, p := range t.Peerings {
		pcxs = append(pcxs, p.ID)
	}
	for _, a := range t.NetworkACLs {
		acls = append(acls, a.ID)
	}
	cidr := func() string {
		return fmt.Sprintf("%d.%d.%d.%d/%d", []int{10, 192, 198}[r.IntN(3)], r.IntN(4), r.IntN(8), r.IntN(256), []int{16, 24, 28, 32}[r.IntN(4)])
	}
	f := url.Values{}
	set := func(kv ...string) {
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
	}
	perm := func() {
		set("IpPermissions.1.IpProtocol", []string{"tcp", "udp", "icmp", "-1", "47"}[r.IntN(5)],
			"IpPermissions.1.FromPort", fmt.Sprint(r.IntN(3)*1000), "IpPermissions.1.ToPort", fmt.Sprint(r.IntN(3)*1000+22))
		switch r.IntN(3) {
		case 0, 1:
			set("IpPermissions.1.IpRanges.1.CidrIp", cidr())
		case 2:
			set("IpPermissions.1.UserIdGroupPairs.1.GroupId", pick(groups))
		}
	}
	switch r.IntN(16) {
	case 0, 1:
		set("Action", []string{"AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress"}[r.IntN(2)], "GroupId", pick(groups))
		perm()
	case 2:
		set("Action", "RevokeSecurityGroupIngress", "GroupId", pick(groups))
		perm()
	case 3:
		set("Action", "CreateSecurityGroup", "GroupName", fmt.Sprint("g", r.IntN(10)), "GroupDescription", "d", "VpcId", pick(vpcs))
	case 4:
		set("Action", "CreateSubnet", "VpcId", pick(vpcs), "CidrBlock", cidr())
	case 5:
		set("Action", "RunInstances", "MinCount", "1", "MaxCount", "1", "SubnetId", pick(subnets))
		if r.IntN(2) == 0 {
			set("SecurityGroupId.1", pick(groups))
		}
		if r.IntN(3) == 0 {
			set("PrivateIpAddress", strings.TrimSuffix(cidr(), "/32"))
		}
	case 6:
		set("Action", "TerminateInstances", "InstanceId.1", pick(instances))
	case 7:
		set("Action", "CreateRoute", "RouteTableId", pick(tables), "DestinationCidrBlock", cidr())
		switch r.IntN(5) {
		case 0:
			set("GatewayId", pick(igws))
		case 1:
			set("NatGatewayId", pick(nats))
		case 2:
			set("NetworkInterfaceId", pick(enis))
		case 3:
			set("InstanceId", pick(instances))
		case 4:
			set("VpcPeeringConnectionId", pick(pcxs))
		}
	case 8:
		set("Action", "DeleteRoute", "RouteTableId", pick(tables), "DestinationCidrBlock", cidr())
	case 9:
		set("Action", "CreateNetworkAclEntry", "NetworkAclId", pick(acls), "RuleNumber", fmt.Sprint(r.IntN(3)*100+r.IntN(2)), "Protocol", "-1",
			"RuleAction", "allow", "Egress", fmt.Sprint(r.IntN(2) == 0), "CidrBlock", cidr())
	case 10:
		set("Action", []string{"AttachInternetGateway", "DetachInternetGateway"}[r.IntN(2)], "InternetGatewayId", pick(igws), "VpcId", pick(vpcs))
	case 11:
		set("Action", "CreateInternetGateway")
	case 12:
		set("Action", "AllocateAddress", "Domain", "vpc")
	case 13:
		set("Action", "AssociateAddress", "AllocationId", pick(eips), "InstanceId", pick(instances))
	case 14:
		set("Action", "CreateNatGateway", "SubnetId", pick(subnets))
		if r.IntN(2) == 0 {
			set("AllocationId", pick(eips))
		} else {
			set("ConnectivityType", "private")
		}
	case 15:
		set("Action", "DeleteNatGateway", "NatGatewayId", pick(nats))
	}
	return f
}
