package lessons

import (
	"fmt"
	"strings"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/vpc"
)

// documentedRanges are the ephemeral port ranges AWS documents for NACL
// design (and the study note lists), per client kind.
var documentedRanges = []struct {
	client, os string
	lo, hi     int
	who        text
}{
	{"c-amzn", "amazon-linux", 32768, 60999, text{"Amazon Linux", "Amazon Linux"}},
	{"c-linux", "linux", 32768, 60999, text{"other Linux kernels", "그 밖의 Linux 커널"}},
	{"c-win2003", "windows-2003", 1025, 5000, text{"Windows Server 2003 and earlier", "Windows Server 2003 이하"}},
	{"c-win2019", "windows", 49152, 65535, text{"Windows Server 2008 and later", "Windows Server 2008 이상"}},
	{"c-natgw", "nat-gateway", 1024, 65535, text{"NAT gateway", "NAT 게이트웨이"}},
	{"c-elb", "elb", 1024, 65535, text{"Elastic Load Balancing", "Elastic Load Balancing"}},
	{"c-lambda", "lambda", 1024, 65535, text{"AWS Lambda", "AWS Lambda"}},
}

// readRanges reads every client's ip_local_port_range from its own kernel
// namespace and compares it with the documented range.
func readRanges(e *env) []Check {
	var out []Check
	for _, d := range documentedRanges {
		src, err := e.source(d.client)
		c := Check{What: fmt.Sprintf("%s (%s): ip_local_port_range", d.client, d.who.in(e.opts.Lang)),
			Expected: fmt.Sprintf("%d-%d", d.lo, d.hi)}
		if err == nil {
			var b []byte
			b, err = netns.Command(src.ns, d.client, "cat", "/proc/sys/net/ipv4/ip_local_port_range").Output()
			c.Observed = strings.Join(strings.Fields(string(b)), "-")
		}
		if err != nil {
			c.Observed = "unreadable: " + err.Error()
		}
		c.OK = c.Observed == c.Expected
		c.Why = fmt.Sprintf("vpcemu exec %s -- cat /proc/sys/net/ipv4/ip_local_port_range; least-privilege proxy rule: allow outbound tcp %d-%d to %s/32",
			d.client, d.lo, d.hi, src.addr)
		if !c.OK {
			c.Message = fmt.Sprintf("%s's kernel uses %s, AWS documents %s for %s", d.client, c.Observed, c.Expected, d.who.en) + e.diffNote()
		}
		out = append(out, c)
	}
	return out
}

func ephemeralRanges() *Lesson {
	var viaProxy []probe
	for _, d := range documentedRanges {
		viaProxy = append(viaProxy, probe{from: d.client, to: "i-proxy", service: "http", want: true, inRange: true,
			why: text{fmt.Sprintf("outbound rule to %s's range %d-%d lets the reply out", d.client, d.lo, d.hi),
				fmt.Sprintf("%s의 범위 %d-%d로 가는 아웃바운드 규칙이 응답을 내보낸다", d.client, d.lo, d.hi)}})
	}
	return &Lesson{
		Name:  "ephemeral-ranges",
		Short: "erng",
		title: text{
			"Ephemeral port ranges differ by client, and a NACL must fit them",
			"임시 포트 범위는 클라이언트마다 다르고, NACL은 그에 맞아야 한다",
		},
		intro: text{
			"Seven clients, one of each kind AWS documents, call a proxy (i-proxy) in another subnet. The proxy subnet's NACL lets in HTTP from the clients' subnet, and lets the replies out only to each client's own ephemeral range: the least-privilege rule for each kind of client.",
			"AWS 문서에 나오는 종류별로 하나씩, 일곱 클라이언트가 다른 서브넷의 프록시(i-proxy)를 호출합니다. 프록시 서브넷의 NACL은 클라이언트 서브넷에서 오는 HTTP를 들여보내고, 응답은 클라이언트마다 그 임시 포트 범위로만 내보냅니다. 클라이언트 종류별 최소 권한 규칙입니다.",
		},
		steps: []step{
			{
				title: text{"Read each client's range from its own kernel", "각 클라이언트의 커널에서 범위를 읽는다"},
				say: text{
					"The kernel picks a client's source port from net.ipv4.ip_local_port_range. Every client here is its own network namespace with the sysctl of its OS profile.",
					"커널은 net.ipv4.ip_local_port_range 에서 클라이언트의 출발지 포트를 고릅니다. 여기서 각 클라이언트는 자기 OS 프로필의 sysctl 값을 가진 별도의 네트워크 네임스페이스입니다.",
				},
				checks: []checker{readRanges},
			},
			{
				title: text{"Every client through a least-privilege NACL", "최소 권한 NACL을 통과하는 모든 클라이언트"},
				say: text{
					"acl-proxy outbound: 110/120 allow tcp 32768-60999 to the two Linux clients, 130 allow 1025-5000 to the Windows 2003 client, 140 allow 49152-65535 to the Windows 2008+ client, 150/160/170 allow 1024-65535 to the NAT gateway, ELB and Lambda clients. Each client's reply port must fall in its rule.",
					"acl-proxy 아웃바운드: 110/120 두 Linux 클라이언트에 tcp 32768-60999 허용, 130 Windows 2003 클라이언트에 1025-5000 허용, 140 Windows 2008 이상 클라이언트에 49152-65535 허용, 150/160/170 NAT 게이트웨이·ELB·Lambda 클라이언트에 1024-65535 허용. 각 클라이언트의 응답 포트가 자기 규칙 안에 있어야 합니다.",
				},
				probes: viaProxy,
			},
			{
				title: text{"A rule that does not fit the client's OS", "클라이언트 OS에 맞지 않는 규칙"},
				say: text{
					"Someone copies the Linux range into the Windows 2003 client's rule 130. That client's replies go to ports 1025-5000, which the rule no longer covers, and nothing else allows them.",
					"누군가 Windows 2003 클라이언트용 130번 규칙에 Linux 범위를 복사해 넣었습니다. 이 클라이언트의 응답은 1025-5000 포트로 가는데 규칙이 더 이상 이를 포함하지 않고, 허용하는 다른 규칙도 없습니다.",
				},
				changes: []change{{
					what: text{"acl-proxy outbound: rule 130 becomes allow tcp 32768-60999 to 10.0.2.13/32", "acl-proxy 아웃바운드: 130번을 tcp 32768-60999 허용(10.0.2.13/32)으로"},
					aws:  []string{"aws ec2 replace-network-acl-entry --network-acl-id acl-proxy --egress --rule-number 130 --protocol tcp --port-range From=32768,To=60999 --cidr-block 10.0.2.13/32 --rule-action allow"},
					apply: func(t *vpc.Topology) error {
						if err := deleteNACLRule("acl-proxy", true, 130)(t); err != nil {
							return err
						}
						return addNACLRule("acl-proxy", true, naclRule(130, vpc.ProtoTCP, tcpPorts(32768, 60999), "10.0.2.13/32", true))(t)
					},
				}},
				probes: []probe{
					{from: "c-win2003", to: "i-proxy", service: "http", want: false, inRange: true, explain: true,
						why: text{"its reply port (1025-5000) matches no outbound rule: the implicit deny drops it", "응답 포트(1025-5000)와 일치하는 아웃바운드 규칙이 없어 암시적 거부(*)에 걸린다"}},
					{from: "c-amzn", to: "i-proxy", service: "http", want: true, inRange: true,
						why: text{"rule 110 still fits it", "110번 규칙은 여전히 맞다"}},
				},
				after: text{
					"Narrow NACL rules to the clients' OS only when you know it; otherwise allow 1024-65535 for return traffic.",
					"클라이언트 OS를 확실히 알 때만 NACL 규칙을 그 범위로 좁히세요. 모르면 응답 트래픽용으로 1024-65535를 허용합니다.",
				},
			},
		},
	}
}
