package perf

import (
	"context"
	"testing"
	"time"
)

// The NAT gateway path's configurations deliver UDP and new TCP
// connections from the private instance to the internet host: through the
// eBPF NAT gateway, through nftables masquerade in its namespace, and
// forwarded untranslated; and the topology is gone afterwards.
func TestNATGatewayPathConfigs(t *testing.T) {
	requireRoot(t)
	for _, name := range []string{"ngw", "masq", "fwd"} {
		t.Run(name, func(t *testing.T) {
			c, err := ParseConfig(name)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			topo := NewTopo(c.Shape, 1500)
			t.Cleanup(topo.Down)
			if err := topo.Up(ctx); err != nil {
				t.Fatal(err)
			}
			release, err := c.Apply(ctx, topo)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			g := topo.Plan.NATGateways[0]
			before, err := rxPackets(ctx, g.NS, g.ENI.IfName)
			if err != nil {
				t.Fatal(err)
			}
			// The check's 300 ms windows can pass without a completed
			// connection on a loaded machine: up to three tries.
			for try := 1; ; try++ {
				err := testEnv(t).check(ctx, topo)
				if err == nil {
					break
				}
				if try == 3 {
					t.Fatal(err)
				}
				t.Logf("try %d: %v", try, err)
			}
			// The traffic crossed the NAT gateway's namespace.
			if after, err := rxPackets(ctx, g.NS, g.ENI.IfName); err != nil || after-before < 100 {
				t.Errorf("the NAT gateway's ENI received %d packets during the check (%v), want the check's traffic", after-before, err)
			}
			topo.Down()
			if topo.Exists() {
				t.Error("namespaces left after Down")
			}
		})
	}
}
