package webui

import (
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/vpcemu/vpcemu/vpc"
)

// A routed topology (issue 12's T2: two VPCs, a peering, an internet
// gateway, a NAT gateway, route tables) is drawn with a node for each of
// its VPCs, subnets, instances, route tables and gateways, and a route
// table's badge shows its routes when clicked.
func TestPageDrawsRoutedTopology(t *testing.T) {
	tp, err := vpc.Load("../examples/routing/t2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := New(newFakeSource(tp), Options{RunRoot: t.TempDir()})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	b := newBrowser(t)
	b.do(t, 20*time.Second, chromedp.Navigate(ts.URL+"/"))
	b.waitJS(t, 10*time.Second, `document.getElementById('conn').textContent === 'live'`)

	ids := eval[map[string][]string](t, b, `(() => { const m = {}; for (const n of document.querySelectorAll('#diagram [data-kind]')) { (m[n.dataset.kind] ||= []).push(n.dataset.id); } return m; })()`)
	want := map[string][]string{}
	add := func(kind, id string) { want[kind] = append(want[kind], id) }
	for _, v := range tp.VPCs {
		add("vpc", v.ID)
	}
	for _, x := range tp.Subnets {
		add("subnet", x.ID)
	}
	for _, in := range tp.Instances {
		add("instance", in.ID)
	}
	for _, r := range tp.RouteTables {
		add("rtb", r.ID)
	}
	for _, g := range tp.InternetGateways {
		add("igw", g.ID)
	}
	for _, g := range tp.NATGateways {
		add("nat", g.ID)
	}
	for _, p := range tp.Peerings {
		add("gw", p.ID)
	}
	if len(want["vpc"]) < 2 || len(want["nat"]) == 0 || len(want["gw"]) == 0 || len(want["igw"]) == 0 {
		t.Fatalf("t2.yaml is not the routed topology this test expects: %v", want)
	}
	for kind, list := range want {
		for _, id := range list {
			if !slices.Contains(ids[kind], id) {
				t.Errorf("diagram has no %s node %q (has %v)", kind, id, ids[kind])
			}
		}
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
	b.screenshot(t, "webui-routed.png")
}
