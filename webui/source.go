package webui

import (
	"time"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/vpc"
)

// Source is a running topology as the web view reads it.
type Source interface {
	// Topology returns the topology with the rules applied now; a new
	// pointer after each apply.
	Topology() *vpc.Topology
	// Status returns the counters `vpcemu status` shows.
	Status() *lab.Status
	// Observe delivers what the datapath reports to sink until stop.
	Observe(sink Sink) (stop func())
}

// Sink receives a topology's events. Drop is called on the datapath's
// reader goroutines at up to its drop rate, so it must be cheap.
type Sink interface {
	Drop(ev *Event)
	Flows(evs []Event)
	Records(w Records)
}

// Event kinds.
const (
	KindDrop = "drop"
	KindFlow = "flow" // accepted traffic, from the flow counters
)

// Event is one drop (or a burst of one flow's drops) or one flow's accepted
// packets since the last drain, at one ENI.
type Event struct {
	Kind      string    `json:"kind"`
	Time      time.Time `json:"time"`
	Instance  string    `json:"instance,omitempty"`
	ENI       string    `json:"eni,omitempty"`
	Direction string    `json:"direction"`           // inbound | outbound (at the ENI, or the subnet for NACL drops)
	Component string    `json:"component,omitempty"` // drops: nacl | sg
	Protocol  int       `json:"protocol"`
	Src       string    `json:"src"`
	Dst       string    `json:"dst"`
	SrcPort   int       `json:"src_port"`
	DstPort   int       `json:"dst_port"`
	TCPFlags  uint8     `json:"tcp_flags,omitempty"`
	ICMPType  uint8     `json:"icmp_type,omitempty"`
	ICMPCode  uint8     `json:"icmp_code,omitempty"`
	// Drops: the reason in Reachability Analyzer terms and what decided.
	Reason         string   `json:"reason,omitempty"`
	ACL            string   `json:"acl,omitempty"`
	RuleNumber     int      `json:"rule_number,omitempty"`
	Rule           string   `json:"rule,omitempty"`
	SecurityGroups []string `json:"security_groups,omitempty"`
	Packets        uint64   `json:"packets"`
	Bytes          uint64   `json:"bytes,omitempty"`
}

// Records are the flow-log records of the windows that just closed.
type Records struct {
	FlowLog string    `json:"flow_log"`
	Header  string    `json:"header"`
	Lines   []string  `json:"lines"`
	Time    time.Time `json:"time"`
}
