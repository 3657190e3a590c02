package lessons

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

func trafficMirroring() *Lesson {
	return &Lesson{
		Name:  "traffic-mirroring",
		Short: "tmir",
		title: text{
			"Traffic Mirroring: a copy of a server's HTTP, read on a monitoring instance",
			"트래픽 미러링: 서버의 HTTP 패킷 사본을 모니터링 인스턴스에서 읽기",
		},
		intro: text{
			"i-web serves HTTP. A Traffic Mirroring session copies the packets its filter accepts (TCP to or from port 80, both directions) from i-web's ENI to a target, the ENI of i-monitor in another subnet. Each copy travels as VXLAN (UDP 4789) from i-web's address to i-monitor's, with the session's VNI; i-monitor's security group must allow UDP 4789, as on AWS. tcpdump on i-monitor decodes the VXLAN and shows the original packets. SSH to i-web is not in the filter, so it is not copied.",
			"i-web은 HTTP를 제공합니다. 트래픽 미러링 세션은 필터가 허용한 패킷(80번 포트로 오가는 TCP, 양방향)을 i-web의 ENI에서 복사해 대상(target)인 다른 서브넷의 i-monitor ENI로 보냅니다. 사본은 세션의 VNI를 단 VXLAN(UDP 4789)으로 i-web의 주소에서 i-monitor의 주소로 전달되며, AWS와 마찬가지로 i-monitor의 보안 그룹이 UDP 4789를 허용해야 합니다. i-monitor에서 tcpdump를 실행하면 VXLAN을 풀어 원래 패킷을 보여 줍니다. i-web으로의 SSH는 필터에 없으므로 복사되지 않습니다.",
		},
		steps: []step{
			{
				title: text{"The laptop loads i-web's page; i-monitor sees the copies", "노트북이 i-web의 페이지를 불러오고, i-monitor가 사본을 본다"},
				say: text{
					"On i-monitor: tcpdump -n -i eth0 udp port 4789. Then the laptop runs curl http://203.0.113.10/. The copies show the outer VXLAN header (10.0.1.10 > 10.0.3.30.4789, vni 100) and, inside, the HTTP exchange as i-web saw it: the request to 10.0.1.10:80 and the answer from it.",
					"i-monitor에서: tcpdump -n -i eth0 udp port 4789. 그리고 노트북에서 curl http://203.0.113.10/ 을 실행합니다. 사본에는 바깥 VXLAN 헤더(10.0.1.10 > 10.0.3.30.4789, vni 100)와 그 안에 i-web이 본 그대로의 HTTP 교환, 즉 10.0.1.10:80으로의 요청과 그 응답이 보입니다.",
				},
				checks: []checker{mirrorCheck("laptop", []string{"curl", "-s", "--max-time", "5", "http://203.0.113.10/"},
					"HTTP request and response copied to i-monitor as VXLAN, VNI 100",
					[]string{"10.0.1.10.", " > 10.0.3.30.4789: VXLAN", "vni 100", "> 10.0.1.10.80: Flags [S]", "GET / HTTP/1.1", "10.0.1.10.80 > 198.51.100.10.", "HTTP/1.1 200 OK"}, nil)},
				after: text{
					"Both directions arrive, each packet once, wrapped with i-web's address as the outer source. A packet analyser on i-monitor (tcpdump, tshark, Suricata, Zeek) reads them unchanged.",
					"양방향 패킷이 각각 한 번씩, i-web의 주소를 바깥 출발지로 하여 감싸져 도착합니다. i-monitor의 패킷 분석기(tcpdump, tshark, Suricata, Zeek)가 그대로 읽을 수 있습니다.",
				},
			},
			{
				title: text{"SSH to i-web is not mirrored", "i-web으로의 SSH는 미러링되지 않는다"},
				say: text{
					"The laptop logs in to i-web with ssh. The filter has no rule for port 22: no rule matches, so nothing is mirrored (a filter mirrors only what a rule accepts).",
					"노트북이 ssh로 i-web에 로그인합니다. 필터에는 22번 포트 규칙이 없습니다. 일치하는 규칙이 없으면 미러링하지 않으므로(필터는 규칙이 허용한 것만 복사) 아무것도 복사되지 않습니다.",
				},
				probes: []probe{
					{from: "laptop", to: "i-web", service: "ssh", want: true,
						why: text{"sg-web allows 22 from my IP", "sg-web이 내 IP의 22번을 허용"}},
				},
				checks: []checker{mirrorCheck("laptop", []string{"sh", "-c", "exec 3<>/dev/tcp/203.0.113.10/22; head -c 7 <&3"},
					"nothing copied to i-monitor for SSH", nil, []string{"VXLAN"})},
			},
			{
				title: text{"Without UDP 4789 in i-monitor's SG, the copies are dropped there", "i-monitor의 보안 그룹에 UDP 4789가 없으면 사본은 그곳에서 버려진다"},
				say: text{
					"Remove sg-monitor's rule. The copies still leave i-web, but i-monitor's security group judges them like any packet and drops them: tcpdump on i-monitor sees nothing, and `vpcemu capture i-monitor --drops` shows each copy with its verdict.",
					"sg-monitor의 규칙을 삭제합니다. 사본은 여전히 i-web에서 나가지만, i-monitor의 보안 그룹이 다른 패킷과 똑같이 판단해 버립니다. i-monitor의 tcpdump에는 아무것도 보이지 않고, `vpcemu capture i-monitor --drops`로 보면 사본마다 판정 이유가 붙어 있습니다.",
				},
				changes: []change{{
					what:  text{"sg-monitor: remove inbound udp 4789 from 10.0.0.0/16", "sg-monitor: 인바운드 udp 4789 (10.0.0.0/16) 삭제"},
					aws:   []string{"aws ec2 revoke-security-group-ingress --group-id sg-monitor --protocol udp --port 4789 --cidr 10.0.0.0/16"},
					apply: revokeSG("sg-monitor", false, sgRule(vpc.ProtoUDP, vpc.PortRange{From: 4789, To: 4789}, "10.0.0.0/16")),
				}},
				checks: []checker{mirrorCheck("laptop", []string{"curl", "-s", "--max-time", "5", "http://203.0.113.10/"},
					"nothing reaches i-monitor's tcpdump", nil, []string{"VXLAN"})},
				after: text{
					"On AWS too the target's security groups (and NACLs) apply to the mirrored traffic: allow UDP 4789 from the sources.",
					"AWS에서도 대상의 보안 그룹(과 NACL)이 미러링된 트래픽에 적용됩니다. 출발지에서 오는 UDP 4789를 허용해야 합니다.",
				},
			},
		},
	}
}

// mirrorCheck runs tcpdump on i-monitor while from runs cmd, and checks its
// decoded output: every string of want appears, none of absent does.
func mirrorCheck(from string, cmd []string, what string, want, absent []string) checker {
	return func(e *env) []Check {
		c := Check{What: what, Expected: "tcpdump on i-monitor shows " + strings.Join(want, ", ")}
		if len(want) == 0 {
			c.Expected = "tcpdump on i-monitor shows no " + strings.Join(absent, ", ")
		}
		out, err := tcpdumpDuring(e, "i-monitor", from, cmd)
		if err != nil {
			c.Observed, c.Message = "error", err.Error()
			return []Check{c}
		}
		var missing, found []string
		for _, w := range want {
			if !strings.Contains(out, w) {
				missing = append(missing, w)
			}
		}
		for _, a := range absent {
			if strings.Contains(out, a) {
				found = append(found, a)
			}
		}
		c.OK = len(missing) == 0 && len(found) == 0
		lines := strings.Count(out, "\n")
		c.Observed = fmt.Sprintf("%d lines of tcpdump output", lines)
		c.Why = strings.TrimSpace(firstLines(out, 4))
		if !c.OK {
			c.Message = fmt.Sprintf("missing %q, unexpected %q in tcpdump's output:\n%s", missing, found, out)
		}
		return []Check{c}
	}
}

// tcpdumpDuring captures UDP 4789 on host's eth0 while from runs cmd.
func tcpdumpDuring(e *env, host, from string, cmd []string) (string, error) {
	mon, err := e.source(host)
	if err != nil {
		return "", err
	}
	src, err := e.source(from)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	td := exec.CommandContext(ctx, "ip", "netns", "exec", mon.ns, "tcpdump", "-n", "-l", "-i", "eth0", "udp", "port", "4789")
	var out strings.Builder
	td.Stdout = &out
	stderr, err := td.StderrPipe()
	if err != nil {
		return "", err
	}
	if err := td.Start(); err != nil {
		return "", fmt.Errorf("tcpdump on %s: %w (apt-get install tcpdump, or make deps)", host, err)
	}
	// tcpdump says "listening on" once it captures.
	buf := make([]byte, 512)
	if _, err := stderr.Read(buf); err != nil {
		_ = td.Process.Kill()
		_ = td.Wait()
		return "", fmt.Errorf("tcpdump on %s did not start: %w", host, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	run := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", src.ns}, cmd...)...)
	_ = run.Run()
	time.Sleep(500 * time.Millisecond)
	_ = td.Process.Signal(os.Interrupt)
	_ = td.Wait()
	return out.String(), nil
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
