package lessons

import "github.com/vpcemu/vpcemu/vpc"

func naclBlockIP() *Lesson {
	both := func(laptop, stranger bool, lwhy, swhy text) []probe {
		return []probe{
			{from: "laptop", to: "i-web", service: "http", want: laptop, why: lwhy},
			{from: "stranger", to: "i-web", service: "http", want: stranger, why: swhy, explain: true},
		}
	}
	allowed := text{"NACL rule 100 and the SG allow HTTP", "NACL 100번과 보안 그룹이 HTTP를 허용"}
	return &Lesson{
		Name:  "nacl-block-ip",
		Short: "nblk",
		title: text{
			"Block one client at the subnet with a NACL deny rule",
			"NACL 거부 규칙으로 서브넷에서 특정 클라이언트 하나를 차단하기",
		},
		intro: text{
			"i-web serves HTTP to anyone. A stranger (" + strangerIP + ") must be kept out while everyone else, such as the laptop, keeps access. A security group cannot do this: it has allow rules only, and removing the 0.0.0.0/0 rule would lock everyone out. A network ACL has deny rules, evaluated in number order, so a deny for that one address numbered below the allow does it.",
			"i-web은 누구에게나 HTTP를 제공합니다. 노트북 같은 다른 사용자는 그대로 두고 낯선 사람(" + strangerIP + ")만 막아야 합니다. 보안 그룹으로는 할 수 없습니다. 허용 규칙만 있고, 0.0.0.0/0 규칙을 지우면 모두가 막히기 때문입니다. 네트워크 ACL에는 번호 순서로 평가되는 거부 규칙이 있으므로, 허용 규칙보다 낮은 번호로 그 주소 하나를 거부하면 됩니다.",
		},
		steps: []step{
			{
				title:  text{"Both clients reach the web server", "두 클라이언트 모두 웹 서버에 접속된다"},
				say:    text{"acl-public inbound: 100 allow all. sg-web: tcp 80 from 0.0.0.0/0.", "acl-public 인바운드: 100 모두 허용. sg-web: tcp 80 (0.0.0.0/0)."},
				probes: both(true, true, allowed, allowed),
			},
			{
				title: text{"Deny the stranger with rule 90, below the allow", "허용 규칙보다 낮은 90번으로 낯선 사람을 거부"},
				say: text{
					"Rule 90 matches only packets from " + strangerIP + " and is evaluated before rule 100. The laptop's packets do not match it and fall through to rule 100. (There is no `--rule-action deny` for security groups: `aws ec2 authorize-security-group-ingress` can only add allows.)",
					"90번 규칙은 " + strangerIP + "에서 온 패킷에만 일치하고 100번보다 먼저 평가됩니다. 노트북의 패킷은 일치하지 않고 100번으로 넘어갑니다. (보안 그룹에는 `--rule-action deny` 같은 것이 없습니다. `aws ec2 authorize-security-group-ingress` 는 허용만 추가할 수 있습니다.)",
				},
				changes: []change{{
					what:  text{"acl-public inbound: add rule 90 deny all from " + strangerIP + "/32", "acl-public 인바운드: 90번 추가, " + strangerIP + "/32 모두 거부"},
					aws:   []string{"aws ec2 create-network-acl-entry --network-acl-id acl-public --ingress --rule-number 90 --protocol -1 --cidr-block " + strangerIP + "/32 --rule-action deny"},
					apply: addNACLRule("acl-public", false, naclRule(90, vpc.ProtoAll, vpc.AllPorts, strangerIP+"/32", false)),
				}},
				probes: both(true, false,
					text{"rule 90 does not match; rule 100 allows", "90번과 일치하지 않고 100번이 허용"},
					text{"rule 90 (deny " + strangerIP + "/32) matches first", "90번(" + strangerIP + "/32 거부)이 먼저 일치"}),
			},
			{
				title: text{"The same deny numbered above the allow does nothing", "같은 거부 규칙을 허용보다 높은 번호로 두면 효과가 없다"},
				say: text{
					"Move the deny to rule 110. Every packet from the stranger matches rule 100 (allow all) first, so rule 110 is never reached.",
					"거부 규칙을 110번으로 옮깁니다. 낯선 사람의 모든 패킷이 먼저 100번(모두 허용)과 일치하므로 110번에는 도달하지 않습니다.",
				},
				changes: []change{
					{
						what:  text{"acl-public inbound: delete rule 90", "acl-public 인바운드: 90번 삭제"},
						aws:   []string{"aws ec2 delete-network-acl-entry --network-acl-id acl-public --ingress --rule-number 90"},
						apply: deleteNACLRule("acl-public", false, 90),
					},
					{
						what:  text{"acl-public inbound: add rule 110 deny all from " + strangerIP + "/32", "acl-public 인바운드: 110번 추가, " + strangerIP + "/32 모두 거부"},
						aws:   []string{"aws ec2 create-network-acl-entry --network-acl-id acl-public --ingress --rule-number 110 --protocol -1 --cidr-block " + strangerIP + "/32 --rule-action deny"},
						apply: addNACLRule("acl-public", false, naclRule(110, vpc.ProtoAll, vpc.AllPorts, strangerIP+"/32", false)),
					},
				},
				probes: both(true, true, allowed,
					text{"rule 100 (allow all) matches before rule 110", "100번(모두 허용)이 110번보다 먼저 일치"}),
				after: text{
					"To block an address: a NACL deny rule with a lower number than the allow rules, on the subnet the traffic enters.",
					"주소를 차단하려면: 트래픽이 들어오는 서브넷의 NACL에 허용 규칙보다 낮은 번호로 거부 규칙을 둡니다.",
				},
			},
		},
	}
}
