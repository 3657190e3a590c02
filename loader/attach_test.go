package loader

import (
	"testing"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// tcFilters lists the BPF filters on ifname in ns, by hook.
func tcFilters(t *testing.T, ns, ifname string) (ingress, egress []string) {
	t.Helper()
	nh, err := vnetns.GetFromPath(netns.Path(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	h, err := netlink.NewHandleAt(nh)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	for _, hook := range []struct {
		parent uint32
		names  *[]string
	}{{netlink.HANDLE_MIN_INGRESS, &ingress}, {netlink.HANDLE_MIN_EGRESS, &egress}} {
		fs, err := h.FilterList(l, hook.parent)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if bf, ok := f.(*netlink.BpfFilter); ok {
				*hook.names = append(*hook.names, bf.Name)
			}
		}
	}
	return ingress, egress
}

// TestTCAttachDetach: the SG programs sit on both tc hooks of every ENI
// veth end once LoadSG returns, and Close takes them off again.
func TestTCAttachDetach(t *testing.T) {
	testenv.RequireRoot(t)
	top := sgTopo(testenv.Name(t), []vpc.SecurityGroup{{ID: "sg-a"}}, instA("sg-a"), instB("sg-a"))
	p := testenv.Build(t, top)
	sg, err := LoadSG(top, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, hp := range p.Instances {
		in, out := tcFilters(t, hp.PeerNS, hp.PeerIf)
		if len(in) != 1 || len(out) != 1 || in[0] != sgProgSgIngress || out[0] != sgProgSgEgress {
			t.Errorf("%s/%s: ingress filters %v, egress %v, want %s and %s", hp.PeerNS, hp.PeerIf, in, out, sgProgSgIngress, sgProgSgEgress)
		}
		if err := sg.Attach(hp); err != nil {
			t.Errorf("attaching %s again: %v, want a no-op", hp.ID, err)
		}
	}
	if err := sg.Close(); err != nil {
		t.Fatal(err)
	}
	for _, hp := range p.Instances {
		if in, out := tcFilters(t, hp.PeerNS, hp.PeerIf); len(in)+len(out) != 0 {
			t.Errorf("%s/%s after Close: ingress filters %v, egress %v", hp.PeerNS, hp.PeerIf, in, out)
		}
	}
}
