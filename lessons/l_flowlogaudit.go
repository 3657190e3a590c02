package lessons

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

const (
	myIP       = "198.51.100.10" // the laptop's address: "my IP"
	strangerIP = "192.0.2.66"
)

// athenaAccepted is the Athena query over AWS's flow-log table that the
// lesson's local query does.
const athenaAccepted = `SELECT srcaddr, srcport, dstaddr, dstport, action, count(*) AS records
FROM vpc_flow_logs
WHERE dstport = 22 AND action = 'ACCEPT' AND srcaddr <> '` + myIP + `'
GROUP BY srcaddr, srcport, dstaddr, dstport, action;`

const athenaRejected = `SELECT srcaddr, dstaddr, dstport, action, sum(packets) AS packets
FROM vpc_flow_logs
WHERE dstport = 22 AND action = 'REJECT'
GROUP BY srcaddr, dstaddr, dstport, action;`

// query runs a WHERE over records and returns the matching records'
// source addresses and the rows, as the Athena query would group them.
func query(recs []flowRecord, where func(flowRecord) bool) (addrs []string, rows []string) {
	seen := map[string]bool{}
	for _, r := range recs {
		if !where(r) {
			continue
		}
		if !seen[r["srcaddr"]] {
			seen[r["srcaddr"]] = true
			addrs = append(addrs, r["srcaddr"])
		}
		rows = append(rows, fmt.Sprintf("%s %s %s %s %s (%s)", r["srcaddr"], r["srcport"], r["dstaddr"], r["dstport"], r["action"], r["interface_id"]))
	}
	sort.Strings(addrs)
	return addrs, rows
}

func flowlogAudit() *Lesson {
	return &Lesson{
		Name:  "flowlog-audit",
		Short: "flow",
		title: text{
			"Flow logs find who logged in: an SSH rule open to the world",
			"흐름 로그로 누가 접속했는지 찾기: 전 세계에 열린 SSH 규칙",
		},
		intro: text{
			"The web server's SG allows SSH from 0.0.0.0/0, meant to be \"my IP\" only. Both the laptop (" + myIP + ", my IP) and a stranger (" + strangerIP + ") log in. The VPC's flow log is written as gzip files in the S3 layout (AWSLogs/ACCOUNT/vpcflowlogs/REGION/...); we query them for accepted port-22 traffic that did not come from my IP, as Athena would on AWS. Then the rule is narrowed to my IP and the stranger's attempts show up as REJECT.",
			"웹 서버의 보안 그룹이 SSH를 0.0.0.0/0에서 허용하고 있습니다. 원래는 \"내 IP\"만 허용하려던 것입니다. 노트북(" + myIP + ", 내 IP)과 낯선 사람(" + strangerIP + ") 둘 다 로그인합니다. VPC의 흐름 로그는 S3 레이아웃(AWSLogs/계정/vpcflowlogs/리전/...)의 gzip 파일로 기록되고, AWS에서 Athena로 하듯이 내 IP가 아닌 곳에서 22번 포트로 허용된 트래픽을 조회합니다. 그런 다음 규칙을 내 IP로 좁히면 낯선 사람의 시도가 REJECT로 기록됩니다.",
		},
		steps: []step{
			{
				title: text{"My laptop and a stranger both log in over SSH", "내 노트북과 낯선 사람 모두 SSH로 로그인한다"},
				say: text{
					"sg-web inbound: tcp 22 from 0.0.0.0/0. Each client runs `echo $SSH_CLIENT` on the server, which prints the address and the ephemeral port the server saw.",
					"sg-web 인바운드: tcp 22, 0.0.0.0/0. 각 클라이언트는 서버에서 `echo $SSH_CLIENT` 를 실행해 서버가 본 주소와 임시 포트를 출력합니다.",
				},
				probes: []probe{
					{from: "laptop", to: "i-web", service: "ssh", want: true, inRange: true,
						why: text{"tcp 22 is open to 0.0.0.0/0", "tcp 22가 0.0.0.0/0에 열려 있다"}},
					{from: "stranger", to: "i-web", service: "ssh", want: true, inRange: true, explain: true,
						why: text{"tcp 22 is open to 0.0.0.0/0 (the mistake)", "tcp 22가 0.0.0.0/0에 열려 있다 (실수)"}},
				},
				after: text{
					"In the records, client -> server has the client's ephemeral port as srcport and 22 as dstport; server -> client has srcport 22 and the client's ephemeral port as dstport.",
					"기록에서 클라이언트 -> 서버 방향은 srcport가 클라이언트의 임시 포트, dstport가 22이고, 서버 -> 클라이언트 방향은 srcport가 22, dstport가 클라이언트의 임시 포트입니다.",
				},
			},
			{
				title: text{"Query the flow logs: accepted SSH not from my IP", "흐름 로그 조회: 내 IP가 아닌 곳에서 허용된 SSH"},
				say: text{
					"On AWS, with the flow log delivered to S3 and an Athena table over it (AWS's DDL reads these files unchanged):\n" + athenaAccepted + "\nHere the same WHERE runs over the records read back from the files.",
					"AWS에서는 흐름 로그를 S3로 보내고 그 위에 Athena 테이블을 만들어 조회합니다(AWS의 DDL로 이 파일들을 그대로 읽을 수 있습니다):\n" + athenaAccepted + "\n여기서는 파일에서 다시 읽은 기록에 같은 WHERE 조건을 적용합니다.",
				},
				checks: []checker{func(e *env) []Check {
					addrs, rows := query(e.all, func(r flowRecord) bool {
						return r["dstport"] == "22" && r["action"] == "ACCEPT" && r["srcaddr"] != myIP
					})
					c := Check{What: "flow logs: accepted tcp 22 from addresses other than " + myIP, Expected: strangerIP,
						Observed: strings.Join(addrs, ", "), Why: strings.Join(rows, "; ")}
					c.OK = len(addrs) == 1 && addrs[0] == strangerIP
					if c.Observed == "" {
						c.Observed = "nothing"
					}
					if !c.OK {
						c.Message = fmt.Sprintf("the query found %s, AWS's flow log would show exactly %s (%d records read in all)", c.Observed, strangerIP, len(e.all)) + e.diffNote()
					}
					return []Check{c}
				}},
				after: text{
					"The stranger's address is in the log: someone not me has logged in to the server.",
					"로그에 낯선 사람의 주소가 있습니다. 내가 아닌 누군가 서버에 로그인했습니다.",
				},
			},
			{
				title: text{"Narrow the SSH rule to my IP", "SSH 규칙을 내 IP로 좁힌다"},
				say: text{
					"Replace tcp 22 from 0.0.0.0/0 by tcp 22 from " + myIP + "/32. The stranger's SYNs now match no inbound rule; the SG drops them and the flow log records them as REJECT:\n" + athenaRejected,
					"tcp 22 (0.0.0.0/0) 규칙을 tcp 22 (" + myIP + "/32)로 바꿉니다. 낯선 사람의 SYN은 이제 어떤 인바운드 규칙과도 일치하지 않아 보안 그룹이 버리고, 흐름 로그에는 REJECT로 기록됩니다:\n" + athenaRejected,
				},
				changes: []change{
					{
						what:  text{"sg-web: add inbound tcp 22 from " + myIP + "/32", "sg-web: 인바운드 tcp 22 (" + myIP + "/32) 추가"},
						aws:   []string{"aws ec2 authorize-security-group-ingress --group-id sg-web --protocol tcp --port 22 --cidr " + myIP + "/32"},
						apply: authorizeSG("sg-web", false, sgRule(vpc.ProtoTCP, tcpPorts(22, 22), myIP+"/32")),
					},
					{
						what:  text{"sg-web: remove inbound tcp 22 from 0.0.0.0/0", "sg-web: 인바운드 tcp 22 (0.0.0.0/0) 삭제"},
						aws:   []string{"aws ec2 revoke-security-group-ingress --group-id sg-web --protocol tcp --port 22 --cidr 0.0.0.0/0"},
						apply: revokeSG("sg-web", false, sgRule(vpc.ProtoTCP, tcpPorts(22, 22), "0.0.0.0/0")),
					},
				},
				probes: []probe{
					{from: "laptop", to: "i-web", service: "ssh", want: true,
						why: text{"the /32 rule allows my IP", "/32 규칙이 내 IP를 허용"}},
					{from: "stranger", to: "i-web", service: "ssh", want: false, explain: true,
						why: text{"no inbound rule matches " + strangerIP, strangerIP + "와 일치하는 인바운드 규칙이 없다"}},
				},
				checks: []checker{func(e *env) []Check {
					addrs, rows := query(e.recs, func(r flowRecord) bool {
						return r["dstport"] == "22" && r["action"] == "REJECT"
					})
					c := Check{What: "flow logs: rejected tcp 22 after the change", Expected: strangerIP,
						Observed: strings.Join(addrs, ", "), Why: strings.Join(rows, "; ")}
					c.OK = len(addrs) == 1 && addrs[0] == strangerIP
					if c.Observed == "" {
						c.Observed = "nothing"
					}
					if !c.OK {
						c.Message = fmt.Sprintf("rejected port-22 sources in the flow log: %s; AWS's would show exactly %s (%d records this step)", c.Observed, strangerIP, len(e.recs)) + e.diffNote()
					}
					return []Check{c}
				}},
			},
		},
	}
}
