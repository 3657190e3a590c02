package loader

import (
	"bufio"
	"net/netip"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// The NACL and IGW programs on a topology built by netns from a plan, as
// `vpcemu up` lays them out (no SG programs: only the NACL decides): NACL
// programs where packets enter the router, from each uplink and, after the
// NAT, from the internet gateway. Spec §7
// vectors with real connections from inside the namespaces.
const naclE2ETopo = `
account: "123456789012"
region: us-east-1
vpc: {id: vpc-e2e, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-a, cidr: 10.0.1.0/24, public: true, network_acl: acl-n1}
  - {id: subnet-b, cidr: 10.0.2.0/24, network_acl: acl-deny}
network_acls:
  - id: acl-n1
    ingress:
      - {rule: 50, protocol: tcp, ports: 443, cidr: 0.0.0.0/0, action: deny}
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
    egress:
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
  - id: acl-deny
instances:
  - {id: i-a, subnet: subnet-a, private_ip: 10.0.1.10, public_ip: 203.0.113.10, os: linux}
  - {id: i-old, subnet: subnet-a, private_ip: 10.0.1.11, public_ip: 203.0.113.11, os: windows-2003}
  - {id: i-b, subnet: subnet-b, private_ip: 10.0.2.20, os: linux}
  - {id: i-c, subnet: subnet-b, private_ip: 10.0.2.21, os: linux}
internet:
  - {name: web, ip: 203.0.113.80}
  - {name: laptop, ip: 198.51.100.10}
  - {name: stranger, ip: 198.51.100.77}
`

type naclE2E struct {
	t    *testing.T
	topo *vpc.Topology
	plan *vpc.Plan
	nacl *NACL
}

func (e *naclE2E) ns(id string) string {
	for _, h := range append(append([]vpc.HostPlan{}, e.plan.Instances...), e.plan.Hosts...) {
		if h.ID == id {
			return h.NS
		}
	}
	e.t.Fatalf("no host %s", id)
	return ""
}

func (e *naclE2E) setIngress(id string, rules ...vpc.NACLRule) {
	e.t.Helper()
	for i := range e.topo.NetworkACLs {
		if a := &e.topo.NetworkACLs[i]; a.ID == id {
			a.Ingress = rules
			if err := e.nacl.SetNACL(a); err != nil {
				e.t.Fatal(err)
			}
			return
		}
	}
	e.t.Fatalf("no NACL %s", id)
}

func newNACLE2E(t *testing.T, mode XDPMode) *naclE2E {
	testenv.RequireRoot(t)
	topo := testenv.Topology(t, naclE2ETopo)
	plan := testenv.Build(t, topo)
	nat := map[netip.Addr]netip.Addr{}
	for _, in := range topo.Instances {
		if in.PublicIP.IsValid() {
			nat[in.PublicIP] = in.PrivateIP
		}
	}
	igw, err := LoadIGW(plan.RouterNS, plan.IGW.RouterIf, topo.VPCs[0].CIDR, nat)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = igw.Close() })
	n, err := LoadNACL(NACLOptions{Topology: topo, MTU: plan.MTU})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	for i := range topo.NetworkACLs {
		if err := n.SetNACL(&topo.NetworkACLs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, sp := range plan.Subnets {
		if err := n.Attach(plan.RouterNS, sp.UplinkRouterIf, sp.SubnetID, mode); err != nil {
			t.Fatal(err)
		}
	}
	// After the gateway's NAT: the inbound tables see private addresses.
	if err := n.Attach(plan.RouterNS, plan.IGW.RouterIf, "", TC); err != nil {
		t.Fatal(err)
	}
	return &naclE2E{t: t, topo: topo, plan: plan, nacl: n}
}

// TestNACLSpecVectors runs the vectors with the uplinks' programs in each
// mode `vpcemu up` offers (the gateway's is tcx in all).
func TestNACLSpecVectors(t *testing.T) {
	for _, mode := range []XDPMode{TC, XDPGeneric, XDPNative} {
		t.Run(string(mode), func(t *testing.T) { naclSpecVectors(t, newNACLE2E(t, mode)) })
	}
}

func naclSpecVectors(t *testing.T, e *naclE2E) {
	naclEchoServer(t, e.ns("web"), "203.0.113.80:443")
	naclEchoServer(t, e.ns("i-a"), "10.0.1.10:443")
	naclEchoServer(t, e.ns("i-c"), "10.0.2.21:5432")
	naclEchoServer(t, e.ns("i-a"), "10.0.1.10:22")

	connects := func(from, to string) bool {
		c, err := naclDial(from, to)
		if err != nil {
			return false
		}
		defer c.Close()
		return naclEcho(c, bufio.NewReader(c), "hi", 3*time.Second) == nil
	}
	t.Run("TV-01 rule 50 denies inbound 443 but not the replies of A's own HTTPS (dst port 40000-ish)", func(t *testing.T) {
		if !connects(e.ns("i-a"), "203.0.113.80:443") {
			t.Fatal("A could not reach W:443")
		}
	})
	t.Run("TV-02 a client on the internet cannot reach A:443 (rule 50)", func(t *testing.T) {
		before := naclHits(t, e.nacl, "acl-n1", false, 50)
		if connects(e.ns("laptop"), "203.0.113.10:443") {
			t.Fatal("laptop reached A:443 through rule 50")
		}
		if naclHits(t, e.nacl, "acl-n1", false, 50) == before {
			t.Error("rule 50 counted no drop")
		}
	})
	deny := vpc.NACLRule{Number: 20, Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: 32768, To: 65535}, ICMPType: -1, ICMPCode: -1, CIDR: naclPrefix("0.0.0.0/0")}
	allow := vpc.NACLRule{Number: 100, Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: naclPrefix("0.0.0.0/0"), Allow: true}
	t.Run("TV-03 denying inbound 32768-65535 breaks a Linux client, not a Windows 2003 one", func(t *testing.T) {
		e.setIngress("acl-n1", deny, allow)
		if connects(e.ns("i-a"), "203.0.113.80:443") {
			t.Error("linux client (ports 32768-60999) connected although replies hit rule 20")
		}
		if !connects(e.ns("i-old"), "203.0.113.80:443") {
			t.Error("windows-2003 client (ports 1025-5000) could not connect")
		}
	})
	t.Run("traffic inside one subnet passes a deny-all NACL", func(t *testing.T) {
		if !connects(e.ns("i-b"), "10.0.2.21:5432") {
			t.Fatal("same-subnet connection failed under a deny-all NACL")
		}
		if err := testenv.Ping(e.ns("i-b"), netip.MustParseAddr("10.0.2.21")); err != nil {
			t.Fatalf("same-subnet ping: %v", err)
		}
	})
	t.Run("a deny-all NACL stops traffic crossing into its subnet, and its router answers anyway", func(t *testing.T) {
		before := naclHits(t, e.nacl, "acl-deny", false, 32767)
		if connects(e.ns("i-a"), "10.0.2.21:5432") {
			t.Fatal("crossed into subnet-b through a deny-all NACL")
		}
		// TV-16: dropped by the subnet's inbound `*` (32767).
		if naclHits(t, e.nacl, "acl-deny", false, 32767) == before {
			t.Error("acl-deny inbound * counted no drop")
		}
		// The subnet router (base+1) is a reserved address: never filtered.
		if err := testenv.Ping(e.ns("i-b"), netip.MustParseAddr("10.0.2.1")); err != nil {
			t.Fatalf("ping own router: %v", err)
		}
	})
	t.Run("an instance without public IP cannot reach the internet", func(t *testing.T) {
		ok := func() bool {
			c, err := naclDial(e.ns("i-b"), "203.0.113.80:443")
			if err == nil {
				c.Close()
			}
			return err == nil
		}
		e.setIngress("acl-n1", allow) // undo TV-03's rule 20
		for _, i := range e.topo.NetworkACLs {
			if i.ID == "acl-deny" {
				i.Ingress = []vpc.NACLRule{allow}
				i.Egress = []vpc.NACLRule{allow}
				if err := e.nacl.SetNACL(&i); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !connects(e.ns("i-a"), "10.0.2.21:5432") {
			t.Fatal("after opening acl-deny, subnet-a still cannot reach subnet-b")
		}
		if ok() {
			t.Fatal("i-b (no public IP) reached the internet")
		}
	})
	tcp22 := func(num int, c string, allow bool) vpc.NACLRule {
		return vpc.NACLRule{Number: num, Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: 22, To: 22}, ICMPType: -1, ICMPCode: -1, CIDR: naclPrefix(c), Allow: allow}
	}
	t.Run("TV-07 rule 10 blocks one address, rule 100 lets the rest in", func(t *testing.T) {
		e.setIngress("acl-n1", vpc.NACLRule{Number: 10, Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: naclPrefix("198.51.100.77/32")}, allow)
		if connects(e.ns("stranger"), "203.0.113.10:22") {
			t.Error("198.51.100.77 reached A:22 through rule 10")
		}
		if !connects(e.ns("laptop"), "203.0.113.10:22") {
			t.Error("198.51.100.10 could not reach A:22")
		}
	})
	t.Run("TV-08 rule 100 is evaluated before 200 whatever the creation order", func(t *testing.T) {
		e.setIngress("acl-n1", tcp22(200, "0.0.0.0/0", true), tcp22(100, "198.51.100.0/24", false), tcp22(300, "0.0.0.0/0", true), allow)
		before := naclHits(t, e.nacl, "acl-n1", false, 100)
		if connects(e.ns("laptop"), "203.0.113.10:22") {
			t.Error("laptop reached A:22 although rule 100 denies it")
		}
		if naclHits(t, e.nacl, "acl-n1", false, 100) == before {
			t.Error("rule 100 counted no drop")
		}
	})
	t.Run("TV-30 a deny added under an established SSH-like session breaks it on the next packet", func(t *testing.T) {
		e.setIngress("acl-n1", allow)
		c, err := naclDial(e.ns("laptop"), "203.0.113.10:22")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		rd := bufio.NewReader(c)
		if err := naclEcho(c, rd, "ls", 3*time.Second); err != nil {
			t.Fatal(err)
		}
		e.setIngress("acl-n1", tcp22(5, "198.51.100.10/32", false), allow)
		if err := naclEcho(c, rd, "ls -l", time.Second); err == nil {
			t.Fatal("the established session survived rule 5 (NACLs are stateless)")
		}
	})
}
