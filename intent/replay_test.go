package intent

import (
	"fmt"
	"strings"
	"testing"
)

// v2 records as vpcemu and AWS write them: an ingress record shows the
// ENI's private address (FL-8), whatever address the sender used.
const v2Header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"

func record(eni, src, dst string, sport, dport, proto, packets, bytes int, action string) string {
	return fmt.Sprintf("2 123456789012 %s %s %s %d %d %d %d %d 1700000000 1700000060 %s OK", eni, src, dst, sport, dport, proto, packets, bytes, action)
}

// https is one HTTPS exchange of a client with the website, as the client's ENI logs it.
func https(eni, client string, port int) []string {
	return []string{
		record(eni, client, "203.0.113.80", port, 443, 6, 10, 1200, "ACCEPT"),
		record(eni, "203.0.113.80", client, 443, port, 6, 12, 9000, "ACCEPT"),
	}
}

func replay(t *testing.T, r *Replayer, header string, lines []string) *ReplayResult {
	t.Helper()
	cols := strings.Fields(header)
	for _, l := range lines {
		if err := r.Columns(cols); err != nil {
			t.Fatal(err)
		}
		if err := r.Add(strings.Fields(l)); err != nil {
			t.Fatal(err)
		}
	}
	return r.Result()
}

func groupsText(res *ReplayResult) string {
	var s []string
	for _, g := range res.Groups {
		s = append(s, fmt.Sprintf("%s -> %s %s %d: %d conns %d packets %d bytes, %s by %s", g.From, g.To, g.Protocol, g.Port, g.Connections, g.Packets, g.Bytes, g.Verdict, rulesText(g.Rules)))
	}
	return strings.Join(s, "\n")
}

// The nacl-ephemeral lesson's first step, replayed against its second:
// the Amazon Linux and Windows 2008+ clients' HTTPS breaks (their replies
// go to ports rule 20 denies), the Windows 2003 client's does not.
func TestReplayFindsTheFlowsTheChangeBreaks(t *testing.T) {
	var lines []string
	lines = append(lines, https("eni-amzn", "10.0.1.10", 33000)...)
	lines = append(lines, https("eni-win", "10.0.1.11", 50000)...)
	lines = append(lines, https("eni-w2k3", "10.0.1.12", 1030)...)
	lines = append(lines,
		record("eni-amzn", "192.0.2.66", "10.0.1.10", 40000, 22, 6, 3, 180, "REJECT"), // not accepted: not replayed
		"2 123456789012 eni-amzn - - - - - - - 1700000000 1700000060 - NODATA")
	res := replay(t, NewReplayer(topo(t, ephemeralFile), ephemeralStep2(t)), v2Header, lines)
	want := "i-amzn -> website tcp 443: 1 conns 12 packets 9000 bytes, reply blocked by acl-public inbound rule 20 (deny tcp 32768-65535 from 0.0.0.0/0)\n" +
		"i-win2019 -> website tcp 443: 1 conns 12 packets 9000 bytes, reply blocked by acl-public inbound rule 20 (deny tcp 32768-65535 from 0.0.0.0/0)"
	if got := groupsText(res); got != want {
		t.Errorf("groups:\n%s\nwant:\n%s", got, want)
	}
	if res.Records != 8 || res.Accepted != 6 || res.Rejected != 2 || len(res.Broken) != 2 {
		t.Errorf("counts: %+v", res)
	}
	if b := res.Broken[0]; b.Flow.SrcPort == 0 || b.Flow.DstPort != 443 || b.Interfaces[0] == "" {
		t.Errorf("broken flow: %+v", b)
	}
}

// Inbound connections to a server: the request record shows the private
// address; the replay addresses the instance's public one.
func TestReplayInboundToAPublicInstance(t *testing.T) {
	old := topo(t, labFile)
	new := topo(t, labFile, "      - {protocol: tcp, ports: 3389, cidr: 0.0.0.0/0}\n", "")
	lines := []string{
		record("eni-web", "192.0.2.66", "10.0.1.10", 51000, 3389, 6, 20, 4000, "ACCEPT"),
		record("eni-web", "10.0.1.10", "192.0.2.66", 3389, 51000, 6, 18, 30000, "ACCEPT"),
		record("eni-web", "198.51.100.10", "10.0.1.10", 50001, 80, 6, 5, 500, "ACCEPT"),
		record("eni-web", "10.0.1.10", "198.51.100.10", 80, 50001, 6, 5, 900, "ACCEPT"),
	}
	res := replay(t, NewReplayer(old, new), v2Header, lines)
	want := "stranger -> i-web tcp 3389: 1 conns 38 packets 34000 bytes, denied by sg-web inbound on i-web: no inbound rule matches (ENI_SG_RULES_MISMATCH)"
	if got := groupsText(res); got != want {
		t.Errorf("groups:\n%s\nwant:\n%s", got, want)
	}
	if res.Broken[0].Flow.Dst.String() != "203.0.113.10" {
		t.Errorf("replayed to %s, want the public address", res.Broken[0].Flow.Dst)
	}
}

// tcp-flags (v3+) tell the server's side (SYN-ACK) without the old rules.
func TestReplayUsesTCPFlags(t *testing.T) {
	header := v2Header + " tcp-flags"
	old := ephemeralStep2(t) // under these rules the reply would not have been accepted: only the flags can tell
	lines := []string{record("eni-amzn", "203.0.113.80", "10.0.1.10", 443, 33000, 6, 4, 800, "ACCEPT") + " 18"}
	res := replay(t, NewReplayer(old, ephemeralStep2(t)), header, lines)
	if len(res.Broken) != 1 || res.Broken[0].Flow.From != "i-amzn" || res.Broken[0].Flow.DstPort != 443 {
		t.Errorf("broken: %s", groupsText(res))
	}
}

func TestReplayNeedsTheFlowColumns(t *testing.T) {
	r := NewReplayer(topo(t, labFile), topo(t, labFile))
	err := r.Columns([]string{"version", "srcaddr", "dstaddr"})
	if err == nil || !strings.Contains(err.Error(), "lack srcport, dstport, protocol, action") {
		t.Errorf("error %v", err)
	}
}
