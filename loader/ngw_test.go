package loader

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/vpcemu/vpcemu/testenv"
)

var (
	ngwAddr = netip.MustParseAddr("10.0.1.100")
	ngwVPC  = netip.MustParsePrefix("10.0.0.0/16")
)

func mustLoadNGW(tb testing.TB, c NGWConfig) *NGW {
	tb.Helper()
	testenv.RequireRoot(tb)
	if c.ID == "" {
		c.ID = "nat-test"
	}
	if !c.Addr.IsValid() {
		c.Addr = ngwAddr
	}
	if c.Blocks == nil {
		c.Blocks = []netip.Prefix{ngwVPC}
	}
	g, err := LoadNGW(c)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			tb.Fatalf("%+v", ve)
		}
		tb.Fatal(err)
	}
	tb.Cleanup(func() { g.Close() })
	return g
}

func TestNGWLoads(t *testing.T) {
	mustLoadNGW(t, NGWConfig{Sequential: true})
	mustLoadNGW(t, NGWConfig{})
}
