package ec2api

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/awsshape"
	"github.com/vpcemu/vpcemu/vpc"
)

// The group commit: mutating requests are accepted in order on the
// desired topology and made live many at a time; a batch that fails is
// answered again request by request.

// testBackend is a Memory whose Commit can be held (the first one waits
// for gate, so that what comes meanwhile queues into one batch) and can
// fail as a datapath would (fail).
type testBackend struct {
	*Memory
	gate    chan struct{}
	fail    func(*vpc.Topology) error
	commits atomic.Int32
}

func (b *testBackend) Commit(ctx context.Context, base, next *vpc.Topology) error {
	if b.commits.Add(1) == 1 && b.gate != nil {
		<-b.gate
	}
	if b.fail != nil {
		if err := b.fail(next); err != nil {
			return err
		}
	}
	return b.Memory.Commit(ctx, base, next)
}

func newBackendServer(b Backend) *Server {
	return NewServer(Config{Backend: func(string) (Backend, error) { return b, nil }})
}

// do serves one form, unsigned (region us-east-1); it returns the status,
// the error code ("" for success) and the body.
func do(s *Server, form string) (int, string, string) {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form)))
	var e apiError
	if w.Code != 200 {
		_ = xml.Unmarshal(w.Body.Bytes(), &e)
	}
	return w.Code, e.Code, w.Body.String()
}

func udpPerm(port int, cidr string) string {
	return fmt.Sprintf("&GroupId=sg-web&IpPermissions.1.IpProtocol=udp&IpPermissions.1.FromPort=%d&IpPermissions.1.ToPort=%d&IpPermissions.1.IpRanges.1.CidrIp=%s",
		port, port, url.QueryEscape(cidr))
}

func authorizeForm(port int) string {
	return "Action=AuthorizeSecurityGroupIngress" + udpPerm(port, "192.0.2.0/24")
}

func revokeForm(port int) string {
	return "Action=RevokeSecurityGroupIngress" + udpPerm(port, "192.0.2.0/24")
}

// udpIngress lists the UDP ports sg-web admits from 192.0.2.0/24 in t.
func udpIngress(t *vpc.Topology) []int {
	var ports []int
	for _, r := range t.SecurityGroup("sg-web").Ingress {
		if r.Protocol == vpc.ProtoUDP && r.CIDR.String() == "192.0.2.0/24" {
			ports = append(ports, r.Ports.From)
		}
	}
	slices.Sort(ports)
	return ports
}

// describedUDPIngress is udpIngress as DescribeSecurityGroupRules shows it.
func describedUDPIngress(t *testing.T, s *Server) []int {
	t.Helper()
	code, _, body := do(s, "Action=DescribeSecurityGroupRules&Filter.1.Name=group-id&Filter.1.Value.1=sg-web")
	if code != 200 {
		t.Fatalf("DescribeSecurityGroupRules: HTTP %d: %s", code, body)
	}
	var out struct {
		Rules awsshape.List[awsshape.SecurityGroupRule] `xml:"securityGroupRuleSet"`
	}
	if err := xml.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	var ports []int
	for _, r := range out.Rules {
		if !*r.IsEgress && r.IpProtocol == "udp" && r.CidrIpv4 == "192.0.2.0/24" {
			ports = append(ports, int(*r.FromPort))
		}
	}
	slices.Sort(ports)
	return ports
}

// queued waits until n requests of the region wait for the committer
// without having been taken into a batch.
func queued(t *testing.T, s *Server, n int) {
	t.Helper()
	r, _ := s.region("us-east-1")
	for deadline := time.Now().Add(10 * time.Second); ; {
		r.mu.RLock()
		got := len(r.queue)
		r.mu.RUnlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Many clients authorize and revoke rules of one group at once: every
// request succeeds, and the committed topology and what Describe shows
// hold exactly the rules each client left.
func TestGroupCommitConcurrentChurn(t *testing.T) {
	b := &testBackend{Memory: NewMemory(vpc.Lab(), nil)}
	s := newBackendServer(b)
	const workers = 16
	final := make([]bool, workers)
	stop := make(chan struct{})
	var wg, readers sync.WaitGroup
	var requests atomic.Int32
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			on := false
			for range 20 + w%2 { // odd workers end with their rule in
				form := authorizeForm(9000 + w)
				if on {
					form = revokeForm(9000 + w)
				}
				if code, _, body := do(s, form); code != 200 {
					t.Errorf("worker %d: HTTP %d: %s", w, code, body)
					return
				}
				requests.Add(1)
				on = !on
			}
			final[w] = on
		}()
	}
	// Readers meanwhile see only committed states: each worker's rule at
	// most once.
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, _, body := do(s, "Action=DescribeSecurityGroups&GroupId.1=sg-web")
				if code != 200 {
					t.Errorf("DescribeSecurityGroups: HTTP %d: %s", code, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	var want []int
	for w, on := range final {
		if on {
			want = append(want, 9000+w)
		}
	}
	if got := udpIngress(b.Topology()); !slices.Equal(got, want) {
		t.Errorf("the committed sg-web admits UDP ports %v, want %v", got, want)
	}
	if got := describedUDPIngress(t, s); !slices.Equal(got, want) {
		t.Errorf("DescribeSecurityGroupRules shows UDP ports %v, want %v", got, want)
	}
	t.Logf("%d requests in %d commits", requests.Load(), b.commits.Load())
}

// What arrives while a commit runs goes live in one more Commit.
func TestGroupCommitBatches(t *testing.T) {
	b := &testBackend{Memory: NewMemory(vpc.Lab(), nil), gate: make(chan struct{})}
	s := newBackendServer(b)
	var wg sync.WaitGroup
	send := func(form string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _, body := do(s, form); code != 200 {
				t.Errorf("HTTP %d: %s", code, body)
			}
		}()
	}
	send(authorizeForm(8000)) // its commit waits for the gate
	for b.commits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := range 10 {
		send(authorizeForm(8001 + i))
		queued(t, s, i+1)
	}
	close(b.gate)
	wg.Wait()
	if n := b.commits.Load(); n != 2 {
		t.Errorf("11 changes took %d commits, want 2 (the held one, then the 10 that queued meanwhile)", n)
	}
	if got := udpIngress(b.Topology()); len(got) != 11 {
		t.Errorf("sg-web admits UDP ports %v, want 8000-8010", got)
	}
}

// errCapacity is what testBackend's datapath answers for a topology with
// a rule for port 6666 or a NACL tagged fail.
var errCapacity = Errorf("RulesPerSecurityGroupLimitExceeded", "the datapath is full")

func failOn6666(t *vpc.Topology) error {
	if slices.Contains(udpIngress(t), 6666) {
		return errCapacity
	}
	for _, a := range t.NetworkACLs {
		if a.Tags["fail"] != "" {
			return errCapacity
		}
	}
	return nil
}

// A batch whose commit fails is answered request by request, in order, on
// the committed topology: the failing request alone gets its error and
// changes nothing; a later request that relied on it is answered as if it
// had come after the failure (a revoke of its rule: NotFound); a request
// that failed on a change of the batch (a duplicate of a rule the failing
// request added) is answered again, and succeeds; a
// ClientToken of a request that finally failed replays nothing, and one
// sent again while its first request is in flight gets that request's
// answer.
func TestGroupCommitFailedBatch(t *testing.T) {
	b := &testBackend{Memory: NewMemory(vpc.Lab(), nil), gate: make(chan struct{}), fail: failOn6666}
	s := newBackendServer(b)
	type answer struct{ code, body string }
	var mu sync.Mutex
	answers := map[string]answer{}
	var wg sync.WaitGroup
	send := func(name, form string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, code, body := do(s, form)
			mu.Lock()
			answers[name] = answer{code, body}
			mu.Unlock()
		}()
	}
	nacl := "Action=CreateNetworkAcl&VpcId=vpc-lab&ClientToken="
	failTag := "&TagSpecification.1.ResourceType=network-acl&TagSpecification.1.Tag.1.Key=fail&TagSpecification.1.Tag.1.Value=yes"
	send("held", authorizeForm(8000))
	for b.commits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// In order: each is accepted (or answered on the desired topology)
	// before the next is sent.
	steps := []struct{ name, form string }{
		{"full", authorizeForm(6666) + strings.ReplaceAll(udpPerm(7777, "192.0.2.0/24")[len("&GroupId=sg-web"):], "IpPermissions.1.", "IpPermissions.2.")}, // accepted; its batch fails on it
		{"after-full", authorizeForm(7777)},    // Duplicate of "full"'s second rule, then not
		{"revoke-full", revokeForm(6666)},      // accepted on "full"'s rule
		{"dup-held", authorizeForm(8000)},      // Duplicate: "held" is desired
		{"ok", authorizeForm(8001)},            // unrelated
		{"dup-ok", authorizeForm(8001)},        // Duplicate of "ok", which goes live
		{"token-fails", nacl + "t1" + failTag}, // accepted, fails
		{"token-ok", nacl + "t2"},              // accepted, goes live
	}
	for i, st := range steps {
		send(st.name, st.form)
		queued(t, s, i+1)
	}
	hook := make(chan struct{})
	testHookTokenWait = func() { close(hook) }
	t.Cleanup(func() { testHookTokenWait = nil })
	send("token-ok-again", nacl+"t2")
	select {
	case <-hook:
	case <-time.After(10 * time.Second):
		close(b.gate)
		t.Fatal("token t2 sent again while its first request waits was not held for it")
	}
	close(b.gate)
	wg.Wait()

	for name, want := range map[string]string{
		"held": "", "full": "RulesPerSecurityGroupLimitExceeded", "after-full": "", "revoke-full": "InvalidPermission.NotFound",
		"dup-held": "InvalidPermission.Duplicate", "ok": "", "dup-ok": "InvalidPermission.Duplicate",
		"token-fails": "RulesPerSecurityGroupLimitExceeded", "token-ok": "", "token-ok-again": "",
	} {
		if got := answers[name]; got.code != want {
			t.Errorf("%s: answered %q, want %q: %s", name, got.code, want, got.body)
		}
	}
	want := []int{7777, 8000, 8001}
	if got := udpIngress(b.Topology()); !slices.Equal(got, want) {
		t.Errorf("sg-web admits UDP ports %v, want %v", got, want)
	}
	if got := describedUDPIngress(t, s); !slices.Equal(got, want) {
		t.Errorf("DescribeSecurityGroupRules shows UDP ports %v, want %v", got, want)
	}
	naclID := func(body string) string {
		var out struct {
			ID string `xml:"networkAcl>networkAclId"`
		}
		_ = xml.Unmarshal([]byte(body), &out)
		return out.ID
	}
	id := naclID(answers["token-ok"].body)
	if id == "" || naclID(answers["token-ok-again"].body) != id {
		t.Errorf("the ClientToken sent again while in flight got NACL %q, the first %q",
			naclID(answers["token-ok-again"].body), id)
	}
	if b.Topology().NetworkACL(id) == nil {
		t.Errorf("NACL %s, answered to token t2, is not committed", id)
	}
	var created int
	for _, a := range b.Topology().NetworkACLs {
		if a.VPC == "vpc-lab" && !a.Default && a.ID != "acl-public" {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d NACLs were created, want 1 (token t2's)", created)
	}
	// The failed token's request is run anew: no success is replayed.
	if _, code, body := do(s, nacl+"t1"+failTag); code != "RulesPerSecurityGroupLimitExceeded" {
		t.Errorf("token t1 again: answered %q, want the failure again: %s", code, body)
	}
	r, _ := s.region("us-east-1")
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.pending != nil && r.pending != b.Topology() {
		t.Error("the desired topology differs from the committed one once every request was answered")
	}
}

// A backend that panics making a change live fails that request alone
// (InternalError), and the region goes on serving.
func TestGroupCommitBackendPanic(t *testing.T) {
	b := &testBackend{Memory: NewMemory(vpc.Lab(), nil), fail: func(t *vpc.Topology) error {
		if slices.Contains(udpIngress(t), 6667) {
			panic("a bug")
		}
		return nil
	}}
	s := newBackendServer(b)
	if code, errCode, body := do(s, authorizeForm(6667)); code != 500 || errCode != "InternalError" {
		t.Errorf("the change the backend panics on: HTTP %d %s, want 500 InternalError: %s", code, errCode, body)
	}
	if code, _, body := do(s, authorizeForm(8000)); code != 200 {
		t.Errorf("the next change: HTTP %d: %s", code, body)
	}
	if got := udpIngress(b.Topology()); !slices.Equal(got, []int{8000}) {
		t.Errorf("sg-web admits UDP ports %v, want [8000]", got)
	}
}
