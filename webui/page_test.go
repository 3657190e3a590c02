package webui

import (
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vpcemu/vpcemu/vpc"
)

// serveFake serves the lab topology without a datapath.
func serveFake(tb testing.TB, opts Options) (*fakeSource, *Server, string) {
	tb.Helper()
	src := newFakeSource(vpc.Lab())
	if opts.RunRoot == "" {
		opts.RunRoot = tb.TempDir()
	}
	s := New(src, opts)
	ts := httptest.NewServer(s.Handler())
	tb.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return src, s, ts.URL
}

func sgDrop() *Event {
	return &Event{Kind: KindDrop, Time: time.Now(), Instance: "i-web", ENI: vpc.Lab().Instances[0].ENI.ID, Direction: "inbound",
		Component: "sg", Protocol: vpc.ProtoTCP, Src: "192.0.2.66", Dst: "10.0.1.10", SrcPort: 40000, DstPort: 22,
		TCPFlags: 0x02, Reason: "ENI_SG_RULES_MISMATCH", SecurityGroups: []string{"sg-web"}, Packets: 1}
}

// The page draws every object of the topology and explains a drop it is
// sent, without a datapath behind it (the privileged test does it live).
func TestPageWithoutDatapath(t *testing.T) {
	src, _, url := serveFake(t, Options{})
	b := newBrowser(t)
	b.do(t, 20*time.Second, chromedp.Navigate(url+"/"))
	b.waitJS(t, 10*time.Second, `document.getElementById('conn').textContent === 'live'`)

	ids := eval[map[string][]string](t, b, `(() => { const m = {}; for (const n of document.querySelectorAll('#diagram [data-kind]')) { (m[n.dataset.kind] ||= []).push(n.dataset.id); } return m; })()`)
	lab := vpc.Lab()
	want := map[string][]string{}
	for _, in := range lab.Instances {
		want["instance"] = append(want["instance"], in.ID)
	}
	for _, s := range lab.Subnets {
		want["subnet"] = append(want["subnet"], s.ID)
	}
	for _, s := range lab.SecurityGroups {
		want["sg"] = append(want["sg"], s.ID)
	}
	for _, a := range lab.NetworkACLs {
		want["nacl"] = append(want["nacl"], a.ID)
	}
	for _, h := range lab.Internet {
		want["host"] = append(want["host"], h.Name)
	}
	for kind, list := range want {
		for _, id := range list {
			if !slices.Contains(ids[kind], id) {
				t.Errorf("diagram has no %s node %q (has %v)", kind, id, ids[kind])
			}
		}
	}

	src.sink.Drop(sgDrop())
	b.waitJS(t, 5*time.Second, `[...document.querySelectorAll('#events tbody tr[data-kind=drop]')].some(r => r.textContent.includes('sg-web'))`)
	b.do(t, 10*time.Second, chromedp.Click(chromedp.CSS(`#events tbody tr[data-kind=drop]`)))
	b.waitJS(t, 5*time.Second, `!!document.querySelector('#tab-explain [data-code=ENI_SG_RULES_MISMATCH]')`)
	decider := eval[int](t, b, `document.querySelectorAll('#tab-explain li.hop.DENY tr.decider').length`)
	if decider == 0 {
		t.Error("the explain walk highlights no row of sg-web's table beside the denying hop")
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
	b.screenshot(t, "webui-fake.png")
}

// When the daemon stops, the page says so in a banner and keeps trying to
// reconnect.
func TestPageSaysWhenDaemonStops(t *testing.T) {
	_, s, url := serveFake(t, Options{})
	b := newBrowser(t)
	b.do(t, 20*time.Second, chromedp.Navigate(url+"/"))
	b.waitJS(t, 10*time.Second, `document.getElementById('conn').textContent === 'live'`)
	s.Close()
	b.waitJS(t, 10*time.Second, `!document.getElementById('banner').hidden && document.getElementById('banner').textContent.includes('stopped')`)
	if got := eval[string](t, b, `document.getElementById('conn').textContent`); got != "stopped" {
		t.Errorf("connection badge %q after the daemon stopped, want \"stopped\"", got)
	}
}
