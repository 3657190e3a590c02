package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/testenv"
)

// BenchmarkAPIAuthorizeRevokeLive is one API change on the running lab,
// in-process: the request through ec2api, lab.Change (validation, the
// reconciler's steps on the real datapath, state.json), the response.
// Back to back, each change may first wait for the packets still reading
// the SG table generation it rewrites (microseconds: loader.SG's reader
// counts, no RCU grace period); /spaced leaves 30 ms between
// changes (not timed), as a person or Terraform makes them; /clients-48
// has 48 clients, each toggling its own rule, send requests back to back
// (the changes that arrive while one is made live go live together: the
// time per operation is the API's throughput).
func BenchmarkAPIAuthorizeRevokeLive(b *testing.B) {
	for _, gap := range []time.Duration{0, 30 * time.Millisecond} {
		name := "back-to-back"
		if gap > 0 {
			name = "spaced"
		}
		b.Run(name, func(b *testing.B) {
			endpoint, auth := benchAPILab(b)
			perm := apiBenchPerm(9000)
			forms := []string{"Action=AuthorizeSecurityGroupIngress" + perm, "Action=RevokeSecurityGroupIngress" + perm}
			b.ResetTimer()
			for i := range b.N {
				if gap > 0 {
					b.StopTimer()
					time.Sleep(gap)
					b.StartTimer()
				}
				if err := apiBenchPost(endpoint, auth, forms[i%2]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, clients := range []int{48, 128} {
		b.Run(fmt.Sprintf("clients-%d", clients), func(b *testing.B) { benchAPIClients(b, clients) })
	}
}

func benchAPIClients(b *testing.B, clients int) {
	endpoint, auth := benchAPILab(b)
	var next atomic.Int32
	b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		perm := apiBenchPerm(9000 + int(next.Add(1)))
		forms := []string{"Action=AuthorizeSecurityGroupIngress" + perm, "Action=RevokeSecurityGroupIngress" + perm}
		for i := 0; pb.Next(); i++ {
			if err := apiBenchPost(endpoint, auth, forms[i%2]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func apiBenchPerm(port int) string {
	return fmt.Sprintf("&GroupId=sg-web&IpPermissions.1.IpProtocol=udp&IpPermissions.1.FromPort=%d&IpPermissions.1.ToPort=%d&IpPermissions.1.IpRanges.1.CidrIp=192.0.2.0%%2F24", port, port)
}

// apiBenchClient keeps a connection per client open.
var apiBenchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func apiBenchPost(endpoint, auth, form string) error {
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", auth)
	resp, err := apiBenchClient.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", url.QueryEscape(form[:40]), body)
	}
	return nil
}

// benchAPILab brings the lab up in-process with its API; it returns the
// endpoint and an Authorization header for the lab's region.
func benchAPILab(b *testing.B) (endpoint, auth string) {
	testenv.RequireRoot(b)
	topo := testenv.Lab(b)
	topo.Limits.RulesPerSecurityGroup = 200 // a rule per client
	dir := b.TempDir()
	opts := lab.Options{RunRoot: dir + "/run", DataRoot: dir + "/data"}
	b.Cleanup(func() { _ = lab.Down(topo.Name, true, opts) })
	l, err := lab.Up(context.Background(), topo, "", topo.YAML(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	stop := serveAPI(l, ln, nil, &apiCounter{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	b.Cleanup(stop)
	// Unsigned requests land in us-east-1: sign the region in the scope.
	return "http://" + ln.Addr().String() + "/",
		"AWS4-HMAC-SHA256 Credential=test/20260101/" + topo.Region + "/ec2/aws4_request, SignedHeaders=host, Signature=0"
}
