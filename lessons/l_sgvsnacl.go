package lessons

import "github.com/vpcemu/vpcemu/vpc"

const sgVsNACLTableEN = `| Security group                                   | Network ACL                                          |
|--------------------------------------------------|------------------------------------------------------|
| instance level (attached to the ENI)             | subnet level                                         |
| allow rules only                                 | allow and deny rules                                 |
| stateful: replies allowed whatever the rules say | stateless: replies must be allowed by the rules      |
| all rules are evaluated together                 | rules in number order, the first match decides       |
| applies where it is attached explicitly          | applies to every instance in its associated subnets  |`

const sgVsNACLTableKO = `| 보안 그룹                                     | 네트워크 ACL                                        |
|-----------------------------------------------|-----------------------------------------------------|
| 인스턴스 레벨 (ENI에 연결)                    | 서브넷 레벨                                         |
| 허용 규칙만 지원                              | 허용 및 거부 규칙 지원                              |
| 상태 저장: 반환 트래픽은 규칙과 관계없이 허용 | 상태 비저장: 반환 트래픽도 규칙으로 허용해야 함     |
| 모든 규칙을 평가한 뒤 결정                    | 번호가 낮은 규칙부터 순서대로, 처음 일치한 규칙이 결정 |
| 명시적으로 연결한 인스턴스에만 적용           | 연결된 서브넷의 모든 인스턴스에 자동 적용           |`

func sgVsNACL() *Lesson {
	web := func(to string, want bool, why text, explain bool) probe {
		return probe{from: "laptop", to: to, service: "http", want: want, why: why, explain: explain}
	}
	return &Lesson{
		Name:  "sg-vs-nacl",
		Short: "svn",
		title: text{
			"Security group vs network ACL, point by point with traffic",
			"보안 그룹 vs 네트워크 ACL, 트래픽으로 하나씩 비교",
		},
		intro: text{
			"Two web servers share one public subnet whose NACL acl-public allows all. sg-web (inbound tcp 80 from anywhere, no outbound rules at all) is attached to i-a; i-b has only the VPC's default SG. The laptop is the client.",
			"두 웹 서버가 하나의 퍼블릭 서브넷을 공유하고, 서브넷의 NACL acl-public은 모두 허용합니다. sg-web(인바운드 tcp 80 모든 곳 허용, 아웃바운드 규칙 없음)은 i-a에만 연결되어 있고, i-b에는 VPC의 기본 보안 그룹만 있습니다. 클라이언트는 노트북입니다.",
		},
		steps: []step{
			{
				title: text{"An SG works per instance, where it is attached", "보안 그룹은 연결된 인스턴스 단위로 동작한다"},
				say: text{
					"i-a has sg-web and serves the laptop, although sg-web has no outbound rule: the SG is stateful and lets the reply out. i-b, in the same subnet, has the default SG, which admits only members of that same group.",
					"i-a에는 sg-web이 있어 노트북에 응답합니다. sg-web에는 아웃바운드 규칙이 없지만 보안 그룹은 상태 저장이라 응답을 내보냅니다. 같은 서브넷의 i-b는 기본 보안 그룹을 가지고 있고, 기본 보안 그룹은 같은 그룹의 구성원만 들여보냅니다.",
				},
				probes: []probe{
					web("i-a", true, text{"sg-web allows tcp 80; the reply leaves by tracking (no outbound rule needed)", "sg-web이 tcp 80 허용, 응답은 연결 추적으로 나감(아웃바운드 규칙 불필요)"}, true),
					web("i-b", false, text{"the default SG admits only its own members", "기본 보안 그룹은 같은 그룹 구성원만 허용"}, true),
				},
			},
			{
				title: text{"Attach sg-web to i-b explicitly", "i-b에 sg-web을 명시적으로 연결한다"},
				say: text{
					"An SG applies only to the ENIs it is attached to; attaching it to i-b changes i-b and nothing else.",
					"보안 그룹은 연결된 ENI에만 적용됩니다. i-b에 연결하면 i-b만 바뀝니다.",
				},
				changes: []change{{
					what:  text{"i-b: security groups [sg-web]", "i-b: 보안 그룹 [sg-web]"},
					aws:   []string{"aws ec2 modify-instance-attribute --instance-id i-b --groups sg-web"},
					apply: setInstanceSGs("i-b", "sg-web"),
				}},
				probes: []probe{
					web("i-b", true, text{"sg-web now guards i-b too", "이제 sg-web이 i-b에도 적용"}, false),
				},
			},
			{
				title: text{"A NACL works per subnet and can deny", "NACL은 서브넷 단위로 동작하고 거부할 수 있다"},
				say: text{
					"One deny rule in acl-public cuts the laptop off from every instance in the subnet at once, with no change to any instance.",
					"acl-public에 거부 규칙 하나를 넣으면 어떤 인스턴스도 바꾸지 않고 서브넷의 모든 인스턴스에서 노트북이 한 번에 차단됩니다.",
				},
				changes: []change{{
					what:  text{"acl-public inbound: add rule 50 deny tcp 80 from " + myIP + "/32", "acl-public 인바운드: 50번 추가, tcp 80 거부 (" + myIP + "/32)"},
					aws:   []string{"aws ec2 create-network-acl-entry --network-acl-id acl-public --ingress --rule-number 50 --protocol tcp --port-range From=80,To=80 --cidr-block " + myIP + "/32 --rule-action deny"},
					apply: addNACLRule("acl-public", false, naclRule(50, vpc.ProtoTCP, tcpPorts(80, 80), myIP+"/32", false)),
				}},
				probes: []probe{
					web("i-a", false, text{"rule 50 denies it at the subnet", "50번 규칙이 서브넷에서 거부"}, true),
					web("i-b", false, text{"rule 50 denies it at the subnet", "50번 규칙이 서브넷에서 거부"}, false),
				},
			},
			{
				title: text{"A NACL is stateless: the reply needs its own outbound rule", "NACL은 상태 비저장: 응답에도 아웃바운드 규칙이 필요하다"},
				say: text{
					"Remove the deny and make the NACL's outbound side allow only tcp 80. The request comes in, but the reply goes out to the laptop's ephemeral port (49152-65535, Windows), which the outbound rule does not cover, so the NACL drops it. Allowing outbound 1024-65535 fixes it.",
					"거부 규칙을 지우고 NACL 아웃바운드를 tcp 80만 허용하게 합니다. 요청은 들어오지만 응답은 노트북의 임시 포트(49152-65535, Windows)로 나가는데, 아웃바운드 규칙이 이를 포함하지 않아 NACL이 버립니다. 아웃바운드 1024-65535를 허용하면 해결됩니다.",
				},
				changes: []change{
					{
						what:  text{"acl-public inbound: delete rule 50", "acl-public 인바운드: 50번 삭제"},
						aws:   []string{"aws ec2 delete-network-acl-entry --network-acl-id acl-public --ingress --rule-number 50"},
						apply: deleteNACLRule("acl-public", false, 50),
					},
					{
						what: text{"acl-public outbound: rule 100 becomes allow tcp 80 only", "acl-public 아웃바운드: 100번을 tcp 80만 허용으로"},
						aws:  []string{"aws ec2 replace-network-acl-entry --network-acl-id acl-public --egress --rule-number 100 --protocol tcp --port-range From=80,To=80 --cidr-block 0.0.0.0/0 --rule-action allow"},
						apply: func(t *vpc.Topology) error {
							if err := deleteNACLRule("acl-public", true, 100)(t); err != nil {
								return err
							}
							return addNACLRule("acl-public", true, naclRule(100, vpc.ProtoTCP, tcpPorts(80, 80), "0.0.0.0/0", true))(t)
						},
					},
				},
				probes: []probe{
					web("i-a", false, text{"the reply to the laptop's ephemeral port matches no outbound rule", "노트북의 임시 포트로 가는 응답과 일치하는 아웃바운드 규칙이 없다"}, true),
				},
			},
			{
				title: text{"SG: all rules together; NACL: the first match", "보안 그룹: 모든 규칙을 함께, NACL: 처음 일치한 규칙"},
				say: text{
					"Allow the replies (outbound 110: tcp 1024-65535). In the SG, replace 'tcp 80 from anywhere' by 'tcp 80 from my IP': SG rules have no order, any rule that allows is enough. In the NACL, add 40 allow tcp 80 from my IP and 45 deny tcp 80 from anywhere: rule 40 matches the laptop first, so the later deny never applies to it.",
					"응답을 허용합니다(아웃바운드 110: tcp 1024-65535). 보안 그룹에서는 'tcp 80 모든 곳'을 'tcp 80 내 IP'로 바꿉니다. 보안 그룹 규칙에는 순서가 없고 허용하는 규칙이 하나라도 있으면 됩니다. NACL에는 40 내 IP에서 tcp 80 허용, 45 모든 곳에서 tcp 80 거부를 추가합니다. 노트북에는 40번이 먼저 일치하므로 뒤의 거부는 적용되지 않습니다.",
				},
				changes: []change{
					{
						what:  text{"acl-public outbound: add rule 110 allow tcp 1024-65535", "acl-public 아웃바운드: 110번 추가, tcp 1024-65535 허용"},
						aws:   []string{"aws ec2 create-network-acl-entry --network-acl-id acl-public --egress --rule-number 110 --protocol tcp --port-range From=1024,To=65535 --cidr-block 0.0.0.0/0 --rule-action allow"},
						apply: addNACLRule("acl-public", true, naclRule(110, vpc.ProtoTCP, tcpPorts(1024, 65535), "0.0.0.0/0", true)),
					},
					{
						what:  text{"sg-web: add inbound tcp 80 from " + myIP + "/32", "sg-web: 인바운드 tcp 80 (" + myIP + "/32) 추가"},
						aws:   []string{"aws ec2 authorize-security-group-ingress --group-id sg-web --protocol tcp --port 80 --cidr " + myIP + "/32"},
						apply: authorizeSG("sg-web", false, sgRule(vpc.ProtoTCP, tcpPorts(80, 80), myIP+"/32")),
					},
					{
						what:  text{"sg-web: remove inbound tcp 80 from 0.0.0.0/0", "sg-web: 인바운드 tcp 80 (0.0.0.0/0) 삭제"},
						aws:   []string{"aws ec2 revoke-security-group-ingress --group-id sg-web --protocol tcp --port 80 --cidr 0.0.0.0/0"},
						apply: revokeSG("sg-web", false, sgRule(vpc.ProtoTCP, tcpPorts(80, 80), "0.0.0.0/0")),
					},
					{
						what:  text{"acl-public inbound: add rule 40 allow tcp 80 from " + myIP + "/32", "acl-public 인바운드: 40번 추가, tcp 80 허용 (" + myIP + "/32)"},
						aws:   []string{"aws ec2 create-network-acl-entry --network-acl-id acl-public --ingress --rule-number 40 --protocol tcp --port-range From=80,To=80 --cidr-block " + myIP + "/32 --rule-action allow"},
						apply: addNACLRule("acl-public", false, naclRule(40, vpc.ProtoTCP, tcpPorts(80, 80), myIP+"/32", true)),
					},
					{
						what:  text{"acl-public inbound: add rule 45 deny tcp 80 from 0.0.0.0/0", "acl-public 인바운드: 45번 추가, tcp 80 거부 (0.0.0.0/0)"},
						aws:   []string{"aws ec2 create-network-acl-entry --network-acl-id acl-public --ingress --rule-number 45 --protocol tcp --port-range From=80,To=80 --cidr-block 0.0.0.0/0 --rule-action deny"},
						apply: addNACLRule("acl-public", false, naclRule(45, vpc.ProtoTCP, tcpPorts(80, 80), "0.0.0.0/0", false)),
					},
				},
				probes: []probe{
					web("i-a", true, text{"SG: the my-IP rule allows; NACL: rule 40 matches before 45; outbound 110 lets the reply out", "보안 그룹: 내 IP 규칙이 허용, NACL: 40번이 45번보다 먼저 일치, 아웃바운드 110번이 응답을 내보냄"}, true),
					web("i-b", true, text{"the same SG and NACL guard i-b", "같은 보안 그룹과 NACL이 i-b에도 적용"}, false),
				},
			},
		},
		outro: text{sgVsNACLTableEN, sgVsNACLTableKO},
	}
}
