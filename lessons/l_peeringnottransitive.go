package lessons

import "github.com/vpcemu/vpcemu/vpc"

func peeringNotTransitive() *Lesson {
	http := func(from, to string, want bool, why text) probe {
		return probe{from: from, to: to, service: "http", want: want, why: why, explain: !want}
	}
	direct := text{"a peering joins the two VPCs and each side routes the other's CIDR to it", "피어링이 두 VPC를 잇고 양쪽 모두 상대 CIDR을 그 피어링으로 라우팅한다"}
	return &Lesson{
		Name:  "peering-not-transitive",
		Short: "pcx",
		title: text{
			"VPC peering is not transitive: A peers B, B peers C, A cannot reach C",
			"VPC 피어링은 전이되지 않는다: A-B, B-C가 피어링되어도 A는 C에 닿지 못한다",
		},
		intro: text{
			"Three VPCs: vpc-a (10.1.0.0/16), vpc-b (10.2.0.0/16, say shared services) and vpc-c (10.3.0.0/16). pcx-ab joins A and B, pcx-bc joins B and C, and every route table routes its peers' CIDRs to the peering. B reaches both, yet A cannot reach C: a peering carries only traffic between its own two VPCs. Not even a route through B helps; a peering of A and C's own does.",
			"VPC 세 개: vpc-a(10.1.0.0/16), vpc-b(10.2.0.0/16, 예를 들어 공유 서비스), vpc-c(10.3.0.0/16). pcx-ab가 A와 B를, pcx-bc가 B와 C를 잇고, 각 라우팅 테이블은 피어의 CIDR을 그 피어링으로 보냅니다. B는 양쪽에 닿지만 A는 C에 닿지 못합니다. 피어링은 자신이 잇는 두 VPC 사이의 트래픽만 나릅니다. B를 거치는 경로를 추가해도 소용없고, A와 C 사이의 피어링이 있어야 합니다.",
		},
		steps: []step{
			{
				title: text{"B reaches A and C; A does not reach C", "B는 A와 C에 닿지만 A는 C에 닿지 않는다"},
				say: text{
					"rtb-a: 10.2.0.0/16 -> pcx-ab. rtb-b: 10.1.0.0/16 -> pcx-ab, 10.3.0.0/16 -> pcx-bc. rtb-c: 10.2.0.0/16 -> pcx-bc. Each instance serves HTTP to 10.0.0.0/8.",
					"rtb-a: 10.2.0.0/16 -> pcx-ab. rtb-b: 10.1.0.0/16 -> pcx-ab, 10.3.0.0/16 -> pcx-bc. rtb-c: 10.2.0.0/16 -> pcx-bc. 각 인스턴스는 10.0.0.0/8에 HTTP를 제공합니다.",
				},
				probes: []probe{
					http("i-a", "i-b", true, direct),
					http("i-b", "i-c", true, direct),
					http("i-a", "i-c", false, text{"rtb-a has no route to 10.3.0.0/16 (NO_ROUTE_TO_DESTINATION)", "rtb-a에 10.3.0.0/16으로 가는 경로가 없다 (NO_ROUTE_TO_DESTINATION)"}),
				},
				checks: []checker{
					droppedAt("i-a", "i-c", "route", "rtb-a", "NO_ROUTE_TO_DESTINATION", text{"rtb-a has only local and 10.2.0.0/16 (RA-8)", "rtb-a에는 local과 10.2.0.0/16뿐이다 (RA-8)"}),
					explainSays("i-a", "i-c", "NO_ROUTE_TO_DESTINATION"),
				},
			},
			{
				title: text{"A route through B does not help", "B를 거치는 경로는 소용없다"},
				say: text{
					"Send A's traffic for C to pcx-ab, and C's for A to pcx-bc, hoping B passes it on. AWS accepts the routes, but a peering delivers a packet only if its destination is in the receiving VPC: 10.3.1.10 is not in vpc-b, so pcx-ab drops it. B never forwards between its peers (no transitive peering, no edge-to-edge routing).",
					"A에서 C로 가는 트래픽을 pcx-ab로, C에서 A로 가는 트래픽을 pcx-bc로 보내 B가 전달해 주기를 기대해 봅니다. AWS는 이 경로를 받아들이지만, 피어링은 목적지가 받는 쪽 VPC 안에 있는 패킷만 전달합니다. 10.3.1.10은 vpc-b에 없으므로 pcx-ab가 버립니다. B는 피어 사이에서 전달하지 않습니다(전이적 피어링도, 엣지 간 라우팅도 없음).",
				},
				changes: []change{
					{
						what:  text{"rtb-a: add 10.3.0.0/16 -> pcx-ab", "rtb-a: 10.3.0.0/16 -> pcx-ab 추가"},
						aws:   []string{"aws ec2 create-route --route-table-id rtb-a --destination-cidr-block 10.3.0.0/16 --vpc-peering-connection-id pcx-ab"},
						apply: createRoute("rtb-a", "10.3.0.0/16", vpc.TargetPeering, "pcx-ab"),
					},
					{
						what:  text{"rtb-c: add 10.1.0.0/16 -> pcx-bc", "rtb-c: 10.1.0.0/16 -> pcx-bc 추가"},
						aws:   []string{"aws ec2 create-route --route-table-id rtb-c --destination-cidr-block 10.1.0.0/16 --vpc-peering-connection-id pcx-bc"},
						apply: createRoute("rtb-c", "10.1.0.0/16", vpc.TargetPeering, "pcx-bc"),
					},
				},
				probes: []probe{
					http("i-a", "i-c", false, text{"10.3.1.10 is outside vpc-b, so pcx-ab does not carry it (PCX_REQUIRES_ADDRESS_IN_VPC_CIDR)", "10.3.1.10은 vpc-b 밖이므로 pcx-ab가 나르지 않는다 (PCX_REQUIRES_ADDRESS_IN_VPC_CIDR)"}),
				},
				checks: []checker{
					droppedAt("i-a", "i-c", "pcx", "pcx-ab", "PCX_REQUIRES_ADDRESS_IN_VPC_CIDR", text{"peering is not transitive (PCX-4, PCX-6)", "피어링은 전이되지 않는다 (PCX-4, PCX-6)"}),
					explainSays("i-a", "i-c", "PCX_REQUIRES_ADDRESS_IN_VPC_CIDR"),
				},
			},
			{
				title: text{"The fix: peer A with C directly, routes both ways", "해결: A와 C를 직접 피어링하고 양방향 경로를 둔다"},
				say: text{
					"Create pcx-ac between vpc-a and vpc-c, accept it, and point both routes at it: rtb-a's 10.3.0.0/16 and rtb-c's 10.1.0.0/16. Each side needs its route, or the replies have no way back.",
					"vpc-a와 vpc-c 사이에 pcx-ac를 만들어 수락하고, 두 경로가 이를 가리키게 합니다: rtb-a의 10.3.0.0/16과 rtb-c의 10.1.0.0/16. 양쪽 모두 경로가 있어야 응답이 돌아올 수 있습니다.",
				},
				changes: []change{
					{
						what: text{"create and accept peering pcx-ac (vpc-a, vpc-c)", "피어링 pcx-ac(vpc-a, vpc-c) 생성 및 수락"},
						aws: []string{
							"aws ec2 create-vpc-peering-connection --vpc-id vpc-a --peer-vpc-id vpc-c",
							"aws ec2 accept-vpc-peering-connection --vpc-peering-connection-id pcx-ac",
						},
						apply: createPeering("pcx-ac", "vpc-a", "vpc-c"),
					},
					{
						what:  text{"rtb-a: 10.3.0.0/16 -> pcx-ac", "rtb-a: 10.3.0.0/16 -> pcx-ac"},
						aws:   []string{"aws ec2 replace-route --route-table-id rtb-a --destination-cidr-block 10.3.0.0/16 --vpc-peering-connection-id pcx-ac"},
						apply: replaceRoute("rtb-a", "10.3.0.0/16", vpc.TargetPeering, "pcx-ac"),
					},
					{
						what:  text{"rtb-c: 10.1.0.0/16 -> pcx-ac", "rtb-c: 10.1.0.0/16 -> pcx-ac"},
						aws:   []string{"aws ec2 replace-route --route-table-id rtb-c --destination-cidr-block 10.1.0.0/16 --vpc-peering-connection-id pcx-ac"},
						apply: replaceRoute("rtb-c", "10.1.0.0/16", vpc.TargetPeering, "pcx-ac"),
					},
				},
				probes: []probe{
					http("i-a", "i-c", true, text{"pcx-ac joins vpc-a and vpc-c and both sides route to it", "pcx-ac가 vpc-a와 vpc-c를 잇고 양쪽 모두 이를 향해 라우팅한다"}),
				},
				after: text{
					"Every pair of VPCs that must talk needs its own peering and routes on both sides (a full mesh), or a transit gateway instead.",
					"서로 통신해야 하는 VPC 쌍마다 자체 피어링과 양쪽 경로가 필요합니다(풀 메시). 그렇지 않으면 트랜짓 게이트웨이를 씁니다.",
				},
			},
		},
	}
}
