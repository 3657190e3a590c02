package webui

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Flow is one observed packet's header, as a drop or flow row shows it.
type Flow struct {
	Protocol           int
	Src, Dst           string
	SrcPort, DstPort   int
	TCPFlags           uint8
	ICMPType, ICMPCode int
}

// TCP flag bits (raw, and as flow logs map them: SYN-ACK is 0x12 in both).
const (
	tcpSyn = 0x02
	tcpAck = 0x10
)

// FlowQuery turns an observed packet into the question `vpcemu explain`
// answers: from the side that opened the flow to the side it opened it to.
// A packet of the other direction (a SYN-ACK, an echo reply, a datagram
// from a service's port) is a reply: the query is turned around, so the
// walk shows the request, then the reply that was dropped or passed.
func FlowQuery(t *vpc.Topology, f Flow) (q rules.Query, reply bool, err error) {
	src, err := netip.ParseAddr(f.Src)
	if err != nil {
		return q, false, fmt.Errorf("src %q: not an IP address", f.Src)
	}
	dst, err := netip.ParseAddr(f.Dst)
	if err != nil {
		return q, false, fmt.Errorf("dst %q: not an IP address", f.Dst)
	}
	se, err := rules.ResolveEndpoint(t, src.String())
	if err != nil {
		return q, false, err
	}
	de, err := rules.ResolveEndpoint(t, dst.String())
	if err != nil {
		return q, false, err
	}
	reply = isReply(f, se, de)
	q = rules.Query{From: se.Name, To: de.Name, Protocol: f.Protocol, IPv6: src.Is6() && !src.Is4In6()}
	sport, dport := f.SrcPort, f.DstPort
	if reply {
		q.From, q.To = de.Name, se.Name
		sport, dport = dport, sport
	}
	switch f.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		if dport < 1 || dport > 65535 {
			return q, reply, fmt.Errorf("destination port %d: want 1-65535", dport)
		}
		q.Port, q.SourcePort = dport, sport
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		typ := f.ICMPType
		if reply || typ == 0 || typ == 129 {
			typ = 0 // explain's default: the echo request
		}
		if typ != 8 && typ != 128 {
			q.ICMPType, q.ICMPCode = typ, f.ICMPCode
		}
	}
	return q, reply, nil
}

// isReply tells whether the packet goes from the side that accepted the
// flow to the side that opened it.
func isReply(f Flow, src, dst rules.Endpoint) bool {
	switch f.Protocol {
	case vpc.ProtoTCP:
		if f.TCPFlags&tcpSyn != 0 {
			return f.TCPFlags&tcpAck != 0
		}
	case vpc.ProtoICMP:
		return f.ICMPType == 0
	case vpc.ProtoICMPv6:
		return f.ICMPType == 129
	case vpc.ProtoUDP:
	default:
		return false
	}
	// Mid-flow TCP, UDP: the side that serves the port is the one the
	// flow was opened to.
	srcServes, dstServes := serves(src, f.Protocol, f.SrcPort), serves(dst, f.Protocol, f.DstPort)
	switch {
	case dstServes:
		return false
	case srcServes:
		return true
	}
	return f.SrcPort < 1024 && f.DstPort >= 1024
}

func serves(e rules.Endpoint, proto, port int) bool {
	var svcs []vpc.Service
	switch {
	case e.Instance != nil:
		svcs = e.Instance.Services
	case e.Host != nil:
		svcs = e.Host.Services
	}
	kind := "tcp"
	if proto == vpc.ProtoUDP {
		kind = "udp"
	}
	for _, s := range svcs {
		if s.Port == port && (s.Kind == kind || (kind == "tcp" && s.Kind != "udp")) {
			return true
		}
	}
	return false
}

// ExplainResult is what the page shows for a clicked row.
type ExplainResult struct {
	Query    rules.Query     `json:"query"`
	Reply    bool            `json:"reply"` // the row's packet is the flow's reply
	Analysis *rules.Analysis `json:"analysis"`
	Walk     []rules.WalkHop `json:"walk"`
	Text     string          `json:"text"` // as `vpcemu explain` prints it
}

// Explain answers for an observed packet what `vpcemu explain` answers for
// its flow, over the rules t applies now.
func Explain(t *vpc.Topology, f Flow) (*ExplainResult, error) {
	q, reply, err := FlowQuery(t, f)
	if err != nil {
		return nil, err
	}
	a := rules.Explain(t, q)
	if a.Status == "failed" {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(a.Verdict, "error: "))
	}
	var b strings.Builder
	if err := a.WriteText(&b); err != nil {
		return nil, err
	}
	return &ExplainResult{Query: q, Reply: reply, Analysis: a, Walk: a.Walk(), Text: b.String()}, nil
}
