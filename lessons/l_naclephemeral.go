package lessons

import "github.com/vpcemu/vpcemu/vpc"

func naclEphemeral() *Lesson {
	https := func(from string, want bool, why text) probe {
		return probe{from: from, to: "website", service: "https", want: want, why: why, inRange: true, explain: true}
	}
	return &Lesson{
		Name:  "nacl-ephemeral",
		Short: "neph",
		title: text{
			"A NACL is stateless: replies come back to the client's ephemeral port, not to 443",
			"NACL은 상태 비저장: 응답은 443이 아니라 클라이언트의 임시 포트로 돌아온다",
		},
		intro: text{
			"Three clients in one public subnet load https://website: i-amzn (Amazon Linux, ephemeral ports 32768-60999), i-win2019 (Windows Server 2008 and later, 49152-65535) and i-win2003 (Windows Server 2003, 1025-5000). The subnet's NACL is the study note's test case. A NACL does not track connections: the reply from the website is judged by the inbound rules on its own, and its destination port is the port the client picked, not 443.",
			"퍼블릭 서브넷의 세 클라이언트가 https://website 를 불러옵니다: i-amzn(Amazon Linux, 임시 포트 32768-60999), i-win2019(Windows Server 2008 이상, 49152-65535), i-win2003(Windows Server 2003, 1025-5000). 서브넷의 NACL은 학습 노트의 테스트 케이스 그대로입니다. NACL은 연결을 추적하지 않으므로 웹사이트의 응답은 인바운드 규칙으로 따로 판단되고, 그 목적지 포트는 443이 아니라 클라이언트가 고른 포트입니다.",
		},
		steps: []step{
			{
				title: text{"Inbound rule 50 denies TCP 443: HTTPS still loads", "인바운드 50번이 TCP 443 거부: 그래도 HTTPS는 열린다"},
				say: text{
					"Inbound: 50 deny tcp 443, 100 allow all. Outbound: 40 allow tcp 443, 50 deny tcp 443, 100 allow all. The request leaves to port 443 (outbound rule 40). The reply comes from port 443 to the client's ephemeral port; inbound rules match the destination port, so rule 50 does not match it and rule 100 allows it.",
					"인바운드: 50 tcp 443 거부, 100 모두 허용. 아웃바운드: 40 tcp 443 허용, 50 tcp 443 거부, 100 모두 허용. 요청은 443 포트로 나갑니다(아웃바운드 40번). 응답은 443에서 클라이언트의 임시 포트로 오며, 인바운드 규칙은 목적지 포트를 보므로 50번과 일치하지 않고 100번이 허용합니다.",
				},
				probes: []probe{
					https("i-amzn", true, text{"the reply goes to an ephemeral port; rule 100 allows it", "응답은 임시 포트로 가고 100번 규칙이 허용"}),
					https("i-win2019", true, text{"the reply goes to an ephemeral port; rule 100 allows it", "응답은 임시 포트로 가고 100번 규칙이 허용"}),
					https("i-win2003", true, text{"the reply goes to an ephemeral port; rule 100 allows it", "응답은 임시 포트로 가고 100번 규칙이 허용"}),
				},
				after: text{
					"Denying inbound 443 only blocks connections *to* a server on 443 in this subnet; it does not stop clients here from using HTTPS.",
					"인바운드 443 거부는 이 서브넷 안의 443 서버로 *들어오는* 연결만 막습니다. 이 서브넷의 클라이언트가 HTTPS를 쓰는 것은 막지 못합니다.",
				},
			},
			{
				title: text{"Add inbound rule 20 denying TCP 32768-65535", "인바운드 20번 추가: TCP 32768-65535 거부"},
				say: text{
					"Rule 20 denies inbound TCP to ports 32768-65535 and is evaluated before rule 100. The Amazon Linux client's reply port (32768-60999) and the Windows 2008+ client's (49152-65535) are in that range, so their replies are dropped at the subnet and the page does not load. The Windows 2003 client picks ports 1025-5000, outside the range, so rule 20 does not match its replies and rule 100 still allows them.",
					"20번 규칙은 포트 32768-65535로 들어오는 TCP를 거부하며 100번보다 먼저 평가됩니다. Amazon Linux 클라이언트의 응답 포트(32768-60999)와 Windows 2008 이상 클라이언트의 포트(49152-65535)는 이 범위에 들어가므로 응답이 서브넷에서 버려지고 페이지가 열리지 않습니다. Windows 2003 클라이언트는 1025-5000을 쓰므로 20번과 일치하지 않고 100번이 여전히 허용합니다.",
				},
				changes: []change{{
					what:  text{"acl-public inbound: add rule 20 deny tcp 32768-65535 from 0.0.0.0/0", "acl-public 인바운드: 20번 추가, tcp 32768-65535 거부 (0.0.0.0/0)"},
					aws:   []string{"aws ec2 create-network-acl-entry --network-acl-id acl-public --ingress --rule-number 20 --protocol tcp --port-range From=32768,To=65535 --cidr-block 0.0.0.0/0 --rule-action deny"},
					apply: addNACLRule("acl-public", false, naclRule(20, vpc.ProtoTCP, tcpPorts(32768, 65535), "0.0.0.0/0", false)),
				}},
				probes: []probe{
					https("i-amzn", false, text{"its reply port (32768-60999) matches rule 20 (deny)", "응답 포트(32768-60999)가 20번(거부)과 일치"}),
					https("i-win2019", false, text{"its reply port (49152-65535) matches rule 20 (deny)", "응답 포트(49152-65535)가 20번(거부)과 일치"}),
					https("i-win2003", true, text{"its reply port (1025-5000) is outside rule 20; rule 100 allows it", "응답 포트(1025-5000)는 20번 범위 밖이라 100번이 허용"}),
				},
				after: text{
					"A NACL must allow the replies explicitly, and which ports they arrive on depends on the client's OS: for clients behind a NACL, allow inbound TCP 1024-65535 (or at least the clients' ephemeral range) for return traffic.",
					"NACL은 응답 트래픽을 명시적으로 허용해야 하고, 응답이 도착하는 포트는 클라이언트 OS에 따라 다릅니다. NACL 뒤의 클라이언트를 위해서는 응답용으로 인바운드 TCP 1024-65535(적어도 클라이언트의 임시 포트 범위)를 허용하세요.",
				},
			},
		},
	}
}
