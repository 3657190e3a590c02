package webui

import (
	"context"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/lessons"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// serveLab serves the web view of l on a free loopback port.
func serveLab(t *testing.T, l *lab.Lab, ln net.Listener, runRoot string) string {
	t.Helper()
	s := New(LabSource{Lab: l}, Options{RunRoot: runRoot})
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return "http://" + ln.Addr().String() + "/"
}

func upLab(t *testing.T, topo *vpc.Topology) (*lab.Lab, string) {
	t.Helper()
	testenv.RequireRoot(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts := lab.Options{RunRoot: dir + "/run", DataRoot: dir + "/data", UI: ln.Addr().String()}
	t.Cleanup(func() { _ = lab.Down(topo.Name, true, opts) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := lab.Up(ctx, topo, "", topo.YAML(), opts)
	if err != nil {
		ln.Close()
		t.Fatalf("up: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l, serveLab(t, l, ln, opts.RunRoot)
}

func nsOf(t *testing.T, l *lab.Lab, host string) string {
	t.Helper()
	p := l.Plan()
	for i, h := range l.Topology().Internet {
		if h.Name == host {
			return p.Hosts[i].NS
		}
	}
	t.Fatalf("no internet host %s", host)
	return ""
}

func naclHits(st *lab.Status, acl, dir, rule string) uint64 {
	for _, n := range st.NACLs {
		for _, r := range n.Rules {
			if n.ID == acl && r.Direction == dir && r.Rule == rule {
				return r.Packets
			}
		}
	}
	return 0
}

// The lab's page, live: every object drawn, a denied ssh from stranger
// shown as a drop naming sg-web and explained with ENI_SG_RULES_MISMATCH,
// and the NACL hit counter equal to status's after a known number of packets.
func TestLiveLabPage(t *testing.T) {
	l, url := upLab(t, testenv.Lab(t))
	b := newBrowser(t)
	b.do(t, 30*time.Second, chromedp.Navigate(url))
	b.waitJS(t, 10*time.Second, `document.getElementById('conn').textContent === 'live'`)

	ids := eval[map[string][]string](t, b, `(() => { const m = {}; for (const n of document.querySelectorAll('#diagram [data-kind]')) { (m[n.dataset.kind] ||= []).push(n.dataset.id); } return m; })()`)
	topo := l.Topology()
	for kind, list := range map[string][]string{
		"instance": func() (s []string) {
			for _, x := range topo.Instances {
				s = append(s, x.ID)
			}
			return
		}(),
		"subnet": func() (s []string) {
			for _, x := range topo.Subnets {
				s = append(s, x.ID)
			}
			return
		}(),
		"sg": func() (s []string) {
			for _, x := range topo.SecurityGroups {
				s = append(s, x.ID)
			}
			return
		}(),
		"nacl": func() (s []string) {
			for _, x := range topo.NetworkACLs {
				s = append(s, x.ID)
			}
			return
		}(),
	} {
		for _, id := range list {
			if !slices.Contains(ids[kind], id) {
				t.Errorf("the diagram has no %s node %q (has %v)", kind, id, ids[kind])
			}
		}
	}

	// A denied ssh: stranger's SYNs to i-web's public address port 22.
	sent := time.Now()
	curl := make(chan struct{})
	go func() {
		defer close(curl)
		_, _ = testenv.Exec(t, nsOf(t, l, "stranger"), "curl", "-s", "--connect-timeout", "2", "telnet://203.0.113.10:22")
	}()
	row := `#events tbody tr[data-kind=drop][data-sg=sg-web][data-key*="|22|"]`
	b.waitJS(t, 15*time.Second, `!!document.querySelector('`+row+`')`)
	t.Logf("the drop row appeared %v after the first packet", time.Since(sent).Round(time.Millisecond))
	b.do(t, 10*time.Second, chromedp.Click(chromedp.CSS(`#pause`)), chromedp.Click(chromedp.CSS(row)), chromedp.Click(chromedp.CSS(`#pause`)))
	b.waitJS(t, 10*time.Second, `!!document.querySelector('#tab-explain [data-code=ENI_SG_RULES_MISMATCH]')`)
	if n := eval[int](t, b, `document.querySelectorAll('#tab-explain li.hop.DENY').length`); n != 1 {
		t.Errorf("the explain walk has %d denying hops, want 1 (sg-web inbound)", n)
	}

	// A known number of packets through acl-public's inbound rule 100: five
	// UDP datagrams from the laptop (sg-web drops them: nothing answers),
	// once curl has stopped retrying its SYN.
	<-curl
	before := naclHits(l.Status(), "acl-public", "inbound", "100")
	if _, err := testenv.Exec(t, nsOf(t, l, "laptop"), "bash", "-c", "for i in 1 2 3 4 5; do echo x >/dev/udp/203.0.113.10/9999; done"); err != nil {
		t.Fatal(err)
	}
	var after uint64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if after = naclHits(l.Status(), "acl-public", "inbound", "100"); after >= before+5 {
			break
		}
	}
	if after != before+5 {
		t.Fatalf("status: acl-public inbound rule 100 counted %d packets for 5 datagrams (from %d to %d)", after-before, before, after)
	}
	b.waitJS(t, 10*time.Second, `document.querySelector('#tab-rules [data-counter="acl-public|inbound|100"]').textContent === '`+strconv.FormatUint(after, 10)+`'`)
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
	b.screenshot(t, "webui-lab.png")
}

// The lesson nacl-ephemeral with its web view: after the run the page shows
// the replies rule 20 dropped; the screenshot is kept as an artifact.
func TestLessonPageScreenshot(t *testing.T) {
	testenv.RequireRoot(t)
	l, err := lessons.Find("nacl-ephemeral")
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	name := testenv.Name(t)
	opts := lessons.Options{RunRoot: dir + "/run", DataRoot: dir + "/data", Name: name, UI: ln.Addr().String()}
	t.Cleanup(func() { _ = lab.Down(name, true, lab.Options{RunRoot: opts.RunRoot, DataRoot: opts.DataRoot}) })
	var shot string
	opts.OnUp = func(lb *lab.Lab) func() {
		s := New(LabSource{Lab: lb}, Options{RunRoot: opts.RunRoot})
		go s.Serve(ln)
		b.do(t, 30*time.Second, chromedp.Navigate("http://"+ln.Addr().String()+"/"))
		b.waitJS(t, 10*time.Second, `document.getElementById('conn').textContent === 'live'`)
		return func() {
			defer s.Close()
			row := `#events tbody tr[data-kind=drop][data-acl=acl-public][data-rule="20"]`
			b.waitJS(t, 15*time.Second, `!!document.querySelector('`+row+`')`)
			// Hold the list still, so that the row does not move under the click.
			b.do(t, 10*time.Second, chromedp.Click(chromedp.CSS(`#pause`)), chromedp.Click(chromedp.CSS(row)))
			b.waitJS(t, 10*time.Second, `!!document.querySelector('#tab-explain [data-code=SUBNET_ACL_RESTRICTION]')`)
			shot = b.screenshot(t, "webui-nacl-ephemeral.png")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := lessons.Run(ctx, l, opts)
	if err != nil {
		t.Fatalf("lesson: %v", err)
	}
	if !res.Passed {
		t.Errorf("lesson nacl-ephemeral did not pass: %+v", res)
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
	t.Logf("screenshot: %s", shot)
}
