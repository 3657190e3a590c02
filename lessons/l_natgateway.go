package lessons

func natGateway() *Lesson {
	login := func(want bool, why text) probe {
		return probe{from: "i-private", to: "website", service: "ssh", want: want, why: why, explain: !want}
	}
	return &Lesson{
		Name:  "nat-gateway",
		Short: "ngw",
		title: text{
			"A private instance reaches the internet through a NAT gateway",
			"프라이빗 인스턴스가 NAT 게이트웨이를 통해 인터넷에 접속하기",
		},
		intro: text{
			"i-private (10.0.2.10) has no public IP and its subnet's route table, rtb-private, has no route to the internet gateway: its default route goes to nat-lesson, a NAT gateway in the public subnet with the Elastic IP 203.0.113.100. The NAT gateway replaces the instance's address and port with its own, so the website sees the Elastic IP and a port from the NAT gateway's range 1024-65535, never 10.0.2.10. The VPC's flow log covers the NAT gateway's network interface too, where pkt-srcaddr tells which instance the traffic came from. Then the NAT gateway is deleted: its route stays, as a blackhole.",
			"i-private(10.0.2.10)에는 퍼블릭 IP가 없고, 서브넷의 라우팅 테이블 rtb-private에는 인터넷 게이트웨이로 가는 경로가 없습니다. 기본 경로는 퍼블릭 서브넷에 있는 NAT 게이트웨이 nat-lesson(탄력적 IP 203.0.113.100)으로 갑니다. NAT 게이트웨이가 인스턴스의 주소와 포트를 자신의 것으로 바꾸므로, 웹사이트는 10.0.2.10이 아니라 탄력적 IP와 NAT 게이트웨이 범위(1024-65535)의 포트를 봅니다. VPC의 흐름 로그는 NAT 게이트웨이의 네트워크 인터페이스도 기록하며, pkt-srcaddr로 트래픽이 어느 인스턴스에서 왔는지 알 수 있습니다. 그런 다음 NAT 게이트웨이를 삭제하면 경로는 블랙홀로 남습니다.",
		},
		steps: []step{
			{
				title: text{"Log in to the website from the private instance", "프라이빗 인스턴스에서 웹사이트에 로그인"},
				say: text{
					"rtb-private: 0.0.0.0/0 -> nat-lesson. rtb-public (the NAT gateway's subnet): 0.0.0.0/0 -> igw-lesson. i-private runs `echo $SSH_CLIENT` on the website, which prints the address and port the website saw.",
					"rtb-private: 0.0.0.0/0 -> nat-lesson. rtb-public(NAT 게이트웨이의 서브넷): 0.0.0.0/0 -> igw-lesson. i-private가 웹사이트에서 `echo $SSH_CLIENT` 를 실행해 웹사이트가 본 주소와 포트를 출력합니다.",
				},
				probes: []probe{login(true, text{
					"rtb-private sends it to nat-lesson, which sends it on through igw-lesson; the replies come back the same way",
					"rtb-private가 nat-lesson으로 보내고, nat-lesson이 igw-lesson을 통해 내보내며, 응답은 같은 길로 돌아온다",
				})},
				checks: []checker{
					natSource("i-private", "website", "nat-lesson"),
					natFlowLog("nat-lesson", "i-private", "website"),
				},
				after: text{
					"The website never sees 10.0.2.10 nor i-private's own port. To find which instance was behind a connection, read the NAT gateway's flow log: its srcaddr is the instance on the way in, and pkt-srcaddr/pkt-dstaddr keep the instance and the website on both legs towards the instance.",
					"웹사이트는 10.0.2.10도 i-private의 원래 포트도 보지 못합니다. 연결 뒤에 어느 인스턴스가 있었는지 알려면 NAT 게이트웨이의 흐름 로그를 봅니다. 들어오는 쪽 기록의 srcaddr가 인스턴스이고, pkt-srcaddr/pkt-dstaddr에 인스턴스와 웹사이트가 남습니다.",
				},
			},
			{
				title: text{"Delete the NAT gateway: the route becomes a blackhole", "NAT 게이트웨이 삭제: 경로가 블랙홀이 된다"},
				say: text{
					"Deleting a NAT gateway does not delete the routes that point at it: rtb-private's 0.0.0.0/0 -> nat-lesson stays, in state blackhole, and packets that match it are dropped. The Elastic IP is disassociated but stays allocated. A blackhole route still wins the longest-prefix match: there is no fallback to another route.",
					"NAT 게이트웨이를 삭제해도 그것을 가리키는 경로는 삭제되지 않습니다. rtb-private의 0.0.0.0/0 -> nat-lesson은 blackhole 상태로 남고, 이 경로에 일치하는 패킷은 버려집니다. 탄력적 IP는 연결이 해제되지만 할당된 채로 남습니다. 블랙홀 경로도 최장 접두사 일치에서 이기므로 다른 경로로 넘어가지 않습니다.",
				},
				changes: []change{{
					what:  text{"delete NAT gateway nat-lesson", "NAT 게이트웨이 nat-lesson 삭제"},
					aws:   []string{"aws ec2 delete-nat-gateway --nat-gateway-id nat-lesson"},
					apply: deleteNATGateway("nat-lesson"),
				}},
				probes: []probe{login(false, text{
					"rtb-private's 0.0.0.0/0 -> nat-lesson is a blackhole (BAD_STATE_ROUTE)",
					"rtb-private의 0.0.0.0/0 -> nat-lesson이 블랙홀이다 (BAD_STATE_ROUTE)",
				})},
				checks: []checker{
					routeState("rtb-private", "0.0.0.0/0", "blackhole"),
					droppedAt("i-private", "website", "route", "rtb-private", "BAD_STATE_ROUTE", text{
						"the winning route's target is gone (RT-15, RA-8)",
						"일치한 경로의 대상이 없어졌다 (RT-15, RA-8)",
					}),
					explainSays("i-private", "website", "BAD_STATE_ROUTE"),
				},
				after: text{
					"`aws ec2 describe-route-tables` (and `vpcemu status`) shows the route as blackhole, and Reachability Analyzer names it BAD_STATE_ROUTE. Create a new NAT gateway and point the route at it (`aws ec2 replace-route --route-table-id rtb-private --destination-cidr-block 0.0.0.0/0 --nat-gateway-id NEW`), or delete the route.",
					"`aws ec2 describe-route-tables` (그리고 `vpcemu status`)에 경로가 blackhole로 표시되고, Reachability Analyzer는 이를 BAD_STATE_ROUTE라고 합니다. 새 NAT 게이트웨이를 만들어 경로가 그것을 가리키게 하거나(`aws ec2 replace-route --route-table-id rtb-private --destination-cidr-block 0.0.0.0/0 --nat-gateway-id NEW`), 경로를 삭제하세요.",
				},
			},
		},
	}
}
