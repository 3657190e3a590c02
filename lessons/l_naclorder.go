package lessons

import "github.com/vpcemu/vpcemu/vpc"

func naclOrder() *Lesson {
	web := func(want bool, why text) probe {
		return probe{from: "laptop", to: "i-web", service: "http", want: want, why: why, explain: true}
	}
	ssh := func(want bool, why text) probe {
		return probe{from: "laptop", to: "i-web", service: "ssh", want: want, why: why}
	}
	return &Lesson{
		Name:  "nacl-order",
		Short: "nord",
		title: text{
			"NACL rules are evaluated by number: the lowest matching rule wins",
			"NACL 규칙은 번호 순서로 평가된다: 일치하는 가장 낮은 번호의 규칙이 이긴다",
		},
		intro: text{
			"i-web serves HTTP and SSH in a public subnet. Its security group lets both in, so only the subnet's network ACL decides. The NACL's inbound rules are 90 (allow tcp 80) and 100 (deny all). The file lists rule 100 first on purpose: the order in which rules are written does not matter, only their numbers.",
			"i-web은 퍼블릭 서브넷에서 HTTP와 SSH를 제공합니다. 보안 그룹은 둘 다 허용하므로 서브넷의 네트워크 ACL만이 결정합니다. NACL 인바운드 규칙은 90(tcp 80 허용)과 100(모두 거부)입니다. 파일에는 일부러 100번을 먼저 적었습니다. 규칙을 적은 순서는 상관없고 번호만 중요합니다.",
		},
		steps: []step{
			{
				title: text{"Rule 90 allows HTTP, rule 100 denies all", "90번 규칙이 HTTP 허용, 100번 규칙이 모두 거부"},
				say: text{
					"An HTTP request matches rule 90 first and is allowed; rule 100 is never reached for it. SSH (tcp 22) does not match rule 90, falls to rule 100 and is denied.",
					"HTTP 요청은 먼저 90번 규칙과 일치하여 허용되고 100번 규칙까지 가지 않습니다. SSH(tcp 22)는 90번과 일치하지 않으므로 100번 규칙에서 거부됩니다.",
				},
				probes: []probe{
					web(true, text{"rule 90 (allow tcp 80) is the lowest rule that matches", "일치하는 가장 낮은 번호가 90번(tcp 80 허용)"}),
					ssh(false, text{"only rule 100 (deny all) matches tcp 22", "tcp 22에는 100번(모두 거부)만 일치"}),
				},
			},
			{
				title: text{"Swap the numbers: 90 denies all, 100 allows HTTP", "번호를 바꾼다: 90번이 모두 거부, 100번이 HTTP 허용"},
				say: text{
					"Same two rules, numbers swapped. Now the deny-all rule has the lower number and matches every packet first, so HTTP is denied too; the allow rule is never reached.",
					"같은 두 규칙에 번호만 바꿉니다. 이제 모두 거부 규칙의 번호가 더 낮아 모든 패킷에 먼저 일치하므로 HTTP도 거부됩니다. 허용 규칙에는 도달하지 않습니다.",
				},
				changes: []change{
					{
						what: text{"acl-public inbound: rule 90 becomes deny all", "acl-public 인바운드: 90번을 '모두 거부'로"},
						aws:  []string{"aws ec2 replace-network-acl-entry --network-acl-id acl-public --ingress --rule-number 90 --protocol -1 --cidr-block 0.0.0.0/0 --rule-action deny"},
						apply: func(t *vpc.Topology) error {
							if err := deleteNACLRule("acl-public", false, 90)(t); err != nil {
								return err
							}
							return addNACLRule("acl-public", false, naclRule(90, vpc.ProtoAll, vpc.AllPorts, "0.0.0.0/0", false))(t)
						},
					},
					{
						what: text{"acl-public inbound: rule 100 becomes allow tcp 80", "acl-public 인바운드: 100번을 'tcp 80 허용'으로"},
						aws:  []string{"aws ec2 replace-network-acl-entry --network-acl-id acl-public --ingress --rule-number 100 --protocol tcp --port-range From=80,To=80 --cidr-block 0.0.0.0/0 --rule-action allow"},
						apply: func(t *vpc.Topology) error {
							if err := deleteNACLRule("acl-public", false, 100)(t); err != nil {
								return err
							}
							return addNACLRule("acl-public", false, naclRule(100, vpc.ProtoTCP, tcpPorts(80, 80), "0.0.0.0/0", true))(t)
						},
					},
				},
				probes: []probe{
					web(false, text{"rule 90 (deny all) now matches first", "이제 90번(모두 거부)이 먼저 일치"}),
					ssh(false, text{"rule 90 (deny all) matches", "90번(모두 거부)이 일치"}),
				},
				after: text{
					"Rule numbers are the order. Leave gaps (10, 20, 30 ...) so that a rule can be put between two others later.",
					"규칙 번호가 곧 순서입니다. 나중에 사이에 규칙을 넣을 수 있도록 번호 사이를 띄워 두세요(10, 20, 30 ...).",
				},
			},
		},
	}
}
