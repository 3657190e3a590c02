package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/testenv"
)

// BenchmarkAPIAuthorizeRevokeLive is one API change on the running lab,
// in-process: the request through ec2api, lab.Change (validation, the
// reconciler's steps on the real datapath, state.json), the response.
// Back to back, each change also waits for what is left of the previous
// one's grace period in the SG datapath; /spaced leaves 30 ms between
// changes (not timed), as a person or Terraform makes them.
func BenchmarkAPIAuthorizeRevokeLive(b *testing.B) {
	for _, gap := range []time.Duration{0, 30 * time.Millisecond} {
		name := "back-to-back"
		if gap > 0 {
			name = "spaced"
		}
		b.Run(name, func(b *testing.B) { benchAPIChange(b, gap) })
	}
}

func benchAPIChange(b *testing.B, gap time.Duration) {
	testenv.RequireRoot(b)
	topo := testenv.Lab(b)
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
	endpoint := "http://" + ln.Addr().String() + "/"
	// Unsigned requests land in us-east-1: sign the region in the scope.
	auth := "AWS4-HMAC-SHA256 Credential=test/20260101/" + topo.Region + "/ec2/aws4_request, SignedHeaders=host, Signature=0"
	p := "&GroupId=sg-web&IpPermissions.1.IpProtocol=udp&IpPermissions.1.FromPort=9000&IpPermissions.1.ToPort=9000&IpPermissions.1.IpRanges.1.CidrIp=192.0.2.0%2F24"
	forms := []string{"Action=AuthorizeSecurityGroupIngress" + p, "Action=RevokeSecurityGroupIngress" + p}
	b.ResetTimer()
	for i := range b.N {
		if gap > 0 {
			b.StopTimer()
			time.Sleep(gap)
			b.StartTimer()
		}
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(forms[i%2]))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %s", url.QueryEscape(forms[i%2][:40]), body)
		}
	}
}
