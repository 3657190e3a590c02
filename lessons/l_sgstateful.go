package lessons

import "github.com/vpcemu/vpcemu/vpc"

func sgStateful() *Lesson {
	allOut := sgRule(vpc.ProtoAll, vpc.AllPorts, "0.0.0.0/0")
	return &Lesson{
		Name:  "sg-stateful",
		Short: "sgst",
		title: text{
			"A security group is stateful: replies to allowed traffic come back on their own",
			"보안 그룹은 상태 저장(stateful) 방화벽: 허용된 트래픽의 응답은 규칙과 관계없이 돌아온다",
		},
		intro: text{
			"i-win is a Windows instance in a public subnet. Its security group sg-rdp allows inbound RDP (tcp 3389) from anywhere and, outbound, all traffic. No inbound rule allows HTTPS replies, yet the instance can load a website: the SG tracks the connection it let out and admits the replies. Remove the all-outbound rule and nothing is let out, so nothing is tracked and nothing comes back. A connection that was already open stays tracked and keeps working.",
			"i-win은 퍼블릭 서브넷의 Windows 인스턴스입니다. 보안 그룹 sg-rdp는 인바운드로 RDP(tcp 3389)를 모든 곳에서 허용하고, 아웃바운드로 모든 트래픽을 허용합니다. HTTPS 응답을 허용하는 인바운드 규칙은 없지만 인스턴스는 웹사이트를 불러올 수 있습니다. 보안 그룹이 내보낸 연결을 추적하고 그 응답을 들여보내기 때문입니다. 모든 아웃바운드 허용 규칙을 지우면 아무것도 나가지 못하므로 추적되는 연결도 없고 응답도 돌아오지 않습니다. 이미 열려 있던 연결은 계속 추적되어 그대로 동작합니다.",
		},
		steps: []step{
			{
				title: text{"The instance loads a website; RDP comes in", "인스턴스가 웹사이트를 불러오고, RDP 접속이 들어온다"},
				say: text{
					"sg-rdp: inbound tcp 3389 from 0.0.0.0/0; outbound all to 0.0.0.0/0. The website's reply arrives at i-win's ephemeral port, which no inbound rule allows. (A TCP echo server on port 3389 stands in for Remote Desktop.)",
					"sg-rdp: 인바운드 tcp 3389 (0.0.0.0/0), 아웃바운드 모든 트래픽 (0.0.0.0/0). 웹사이트의 응답은 i-win의 임시 포트로 도착하는데, 이를 허용하는 인바운드 규칙은 없습니다. (포트 3389의 TCP 에코 서버가 원격 데스크톱을 대신합니다.)",
				},
				probes: []probe{
					{from: "i-win", to: "website", service: "https", want: true, explain: true, inRange: true,
						why: text{"the outbound rule allows the request and the SG admits the tracked reply", "아웃바운드 규칙이 요청을 허용하고, 추적된 연결의 응답은 보안 그룹이 들여보낸다"}},
					{from: "laptop", to: "i-win", service: "rdp", want: true,
						why: text{"inbound rule tcp 3389 allows it", "인바운드 규칙 tcp 3389가 허용한다"}},
				},
				after: text{
					"Both work. The explain output shows the return path allowed by connection tracking, not by a rule.",
					"둘 다 동작합니다. explain 출력에서 응답(return) 경로는 규칙이 아니라 연결 추적(connection tracking)으로 허용된 것을 볼 수 있습니다.",
				},
			},
			{
				title: text{"Open a connection and keep it open", "연결을 하나 열어 둔다"},
				say: text{
					"i-win opens a TCP connection to the website's echo port 8080 and keeps it open for the rest of the lesson.",
					"i-win이 웹사이트의 에코 포트 8080으로 TCP 연결을 열고, 레슨이 끝날 때까지 열어 둡니다.",
				},
				probes: []probe{
					{from: "i-win", to: "website", service: "tcp", port: 8080, hold: "open", want: true,
						why: text{"all outbound is allowed; the reply is tracked", "모든 아웃바운드가 허용되고 응답은 추적된다"}},
				},
			},
			{
				title: text{"Remove the all-outbound rule", "모든 아웃바운드 허용 규칙을 삭제한다"},
				say: text{
					"Now sg-rdp has no outbound rule at all. A new HTTPS or HTTP request is not allowed out, so the SG tracks nothing and no reply can come back. RDP from the laptop still works: it comes in by an inbound rule, and its replies go out by tracking, whatever the outbound rules say.",
					"이제 sg-rdp에는 아웃바운드 규칙이 하나도 없습니다. 새 HTTPS나 HTTP 요청은 밖으로 나가지 못하므로 추적되는 연결이 없고 응답도 돌아올 수 없습니다. 노트북에서의 RDP 접속은 여전히 됩니다. 인바운드 규칙으로 들어오고, 응답은 아웃바운드 규칙과 관계없이 연결 추적으로 나가기 때문입니다.",
				},
				changes: []change{{
					what:  text{"sg-rdp: remove the outbound rule 'all traffic to 0.0.0.0/0'", "sg-rdp: 아웃바운드 규칙 '모든 트래픽, 0.0.0.0/0' 삭제"},
					aws:   []string{"aws ec2 revoke-security-group-egress --group-id sg-rdp --ip-permissions 'IpProtocol=-1,IpRanges=[{CidrIp=0.0.0.0/0}]'"},
					apply: revokeSG("sg-rdp", true, allOut),
				}},
				probes: []probe{
					{from: "i-win", to: "website", service: "https", want: false, explain: true,
						why: text{"no outbound rule allows tcp 443, so the request never leaves", "tcp 443을 허용하는 아웃바운드 규칙이 없어 요청이 나가지 못한다"}},
					{from: "i-win", to: "website", service: "http", want: false,
						why: text{"no outbound rule allows tcp 80", "tcp 80을 허용하는 아웃바운드 규칙이 없다"}},
					{from: "laptop", to: "i-win", service: "rdp", want: true, explain: true,
						why: text{"inbound 3389 is allowed; the reply leaves by tracking", "인바운드 3389가 허용되고, 응답은 연결 추적으로 나간다"}},
				},
			},
			{
				title: text{"The connection opened before still works", "먼저 열어 둔 연결은 계속 동작한다"},
				say: text{
					"The connection from step 2 sits idle for a few seconds, then i-win sends on it again. AWS keeps tracking it after the rule is gone (until it closes or its idle timeout, 5 days for TCP by default, runs out), so its packets still pass. Once it is closed, a new connection is refused by the rules as they are now.",
					"2단계에서 연 연결을 몇 초 동안 쉬게 한 뒤 i-win이 다시 데이터를 보냅니다. AWS는 규칙이 사라진 뒤에도 그 연결을 계속 추적하므로(닫히거나, TCP 기본 5일인 유휴 시간 초과까지) 패킷이 계속 통과합니다. 연결을 닫고 나면 새 연결은 현재 규칙에 따라 막힙니다.",
				},
				pause: pause{3, text{"the open connection stays idle", "열린 연결이 유휴 상태로 있다"}},
				probes: []probe{
					{from: "i-win", to: "website", service: "tcp", port: 8080, hold: "send", want: true,
						why: text{"a tracked connection outlives the removal of the rule that allowed it", "추적 중인 연결은 그것을 허용한 규칙이 삭제되어도 유지된다"}},
					{from: "i-win", to: "website", service: "tcp", port: 8080, hold: "close", want: false,
						why: text{"a new connection needs an outbound rule, and there is none", "새 연결에는 아웃바운드 규칙이 필요한데 없다"}},
				},
				after: text{
					"Security groups decide when a connection starts and then remember it. To cut an existing connection on AWS you need a NACL (stateless) or to close it.",
					"보안 그룹은 연결이 시작될 때 판단하고 그 뒤에는 기억합니다. AWS에서 이미 열린 연결을 끊으려면 NACL(상태 비저장)을 쓰거나 연결을 닫아야 합니다.",
				},
			},
		},
	}
}
