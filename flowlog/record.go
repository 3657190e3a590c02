package flowlog

import (
	"net/netip"
	"strconv"
	"time"
)

// Sample is what the datapath saw of one flow on one ENI in one direction
// with one verdict: the input of an Aggregator.
type Sample struct {
	ENI              string
	Egress           bool // leaving the ENI (else arriving at it)
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // 0 for protocols without ports
	Protocol         uint8
	Packets, Bytes   uint64 // bytes = sum of IP total lengths
	// TCPFlags is either one packet's raw TCP flags byte or an OR of
	// per-packet TCPFlagsValue results; the aggregator maps it again, which
	// is harmless for the latter. An OR of raw bytes of several packets would
	// merge a SYN and a later ACK into a false SYN-ACK (FL-27), so the
	// datapath must map per packet before OR-ing.
	TCPFlags    uint8
	First, Last time.Time // first and last packet; zero = now
	Reject      bool
	// PktSrc and PktDst are the packet's real addresses when they differ from
	// Src/Dst (FL-8); zero = same. Callers may also leave the mapping to the
	// aggregator: Src/Dst that are not the ENI's addresses are replaced by its
	// primary private IPv4 as FL-8 says.
	PktSrc, PktDst netip.Addr
	// ToInternet marks egress traffic leaving through the internet gateway
	// (traffic-path 8); other egress is same-VPC (traffic-path 1), FL-16.
	ToInternet bool
	// TrafficPath, when TrafficPathKnown, is the egress traffic-path itself
	// (FL-16: Path*, 0 for '-'), as the sender's route decided it; it
	// overrides ToInternet.
	TrafficPath      uint8
	TrafficPathKnown bool
}

// ENIInfo is the metadata of a monitored ENI that records carry.
type ENIInfo struct {
	ENI, InstanceID, SubnetID, VPCID, AZ, AZID, Region, Account string
	Primary                                                     netip.Addr   // primary private IPv4
	Addrs                                                       []netip.Addr // every address of the ENI (Primary is implied)
}

func (e *ENIInfo) owns(a netip.Addr) bool {
	if a == e.Primary {
		return true
	}
	for _, x := range e.Addrs {
		if x == a {
			return true
		}
	}
	return false
}

// Action is a record's verdict.
type Action uint8

// Record verdicts (FL-20).
const (
	Accept Action = iota
	Reject
)

// String is the AWS spelling.
func (a Action) String() string {
	if a == Reject {
		return "REJECT"
	}
	return "ACCEPT"
}

// LogStatus is a record's log-status (FL-17).
type LogStatus uint8

// Log statuses.
const (
	StatusOK LogStatus = iota
	StatusNoData
	StatusSkipData
)

// String is the AWS spelling.
func (s LogStatus) String() string {
	switch s {
	case StatusNoData:
		return "NODATA"
	case StatusSkipData:
		return "SKIPDATA"
	default:
		return "OK"
	}
}

// Traffic-path codes vpcemu produces (FL-16); 0 means none applies ('-').
const (
	PathSameVPC  = 1
	PathPeering  = 4 // through a peering in the region (PCX-10)
	PathEndpoint = 7 // to a gateway endpoint's service (VPCE-7)
	PathInternet = 8
)

// Record is one flow-log record: an aggregated flow (StatusOK) or a NODATA /
// SKIPDATA marker for an ENI and window, whose flow fields are unset.
type Record struct {
	Status           LogStatus
	ENI              ENIInfo
	Egress           bool
	Src, Dst         netip.Addr // srcaddr/dstaddr as logged (FL-8 applied)
	PktSrc, PktDst   netip.Addr // real packet addresses
	SrcPort, DstPort uint16
	Protocol         uint8
	Packets, Bytes   uint64
	TCPFlags         uint8 // already mapped per FL-27
	Start, End       time.Time
	Action           Action
	TrafficPath      uint8 // 0 = '-'
}

// TCPFlagsValue is one packet's contribution to tcp-flags (FL-27): FIN, SYN
// and RST as themselves, ACK only together with SYN (SYN-ACK = 18), every
// other flag dropped.
func TCPFlagsValue(raw uint8) uint8 {
	v := raw & 0x07
	if raw&0x12 == 0x12 {
		v |= 0x10
	}
	return v
}

// Line renders r as one record line in format f, without a newline.
func (f Format) Line(r Record) string { return string(f.AppendLine(nil, r)) }

// AppendLine appends r rendered in format f to b, without a newline.
func (f Format) AppendLine(b []byte, r Record) []byte {
	version := f.Version()
	for i, fd := range f.list() {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendField(b, fd.id, version, &r)
	}
	return b
}

// Value renders one field of r as text ('-' when it does not apply).
func (f Format) Value(fd Field, r *Record) string {
	return string(appendField(nil, fd.id, f.Version(), r))
}

func appendStr(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return append(b, s...)
}

func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, '-')
	}
	return a.AppendTo(b)
}

func appendField(b []byte, id fieldID, version int, r *Record) []byte {
	// Fields every record carries, NODATA and SKIPDATA included (FL-18).
	switch id {
	case fVersion:
		return strconv.AppendInt(b, int64(version), 10)
	case fAccountID:
		return appendStr(b, r.ENI.Account)
	case fInterfaceID:
		return appendStr(b, r.ENI.ENI)
	case fStart:
		return strconv.AppendInt(b, r.Start.Unix(), 10)
	case fEnd:
		return strconv.AppendInt(b, r.End.Unix(), 10)
	case fLogStatus:
		return append(b, r.Status.String()...)
	}
	if r.Status != StatusOK {
		return append(b, '-')
	}
	switch id {
	case fSrcAddr:
		return appendAddr(b, r.Src)
	case fDstAddr:
		return appendAddr(b, r.Dst)
	case fSrcPort:
		return strconv.AppendUint(b, uint64(r.SrcPort), 10)
	case fDstPort:
		return strconv.AppendUint(b, uint64(r.DstPort), 10)
	case fProtocol:
		return strconv.AppendUint(b, uint64(r.Protocol), 10)
	case fPackets:
		return strconv.AppendUint(b, r.Packets, 10)
	case fBytes:
		return strconv.AppendUint(b, r.Bytes, 10)
	case fAction:
		return append(b, r.Action.String()...)
	case fVPCID:
		return appendStr(b, r.ENI.VPCID)
	case fSubnetID:
		return appendStr(b, r.ENI.SubnetID)
	case fInstanceID:
		return appendStr(b, r.ENI.InstanceID)
	case fTCPFlags:
		if r.Protocol != 6 {
			return append(b, '0')
		}
		return strconv.AppendUint(b, uint64(TCPFlagsValue(r.TCPFlags)), 10)
	case fType:
		switch {
		case r.Src.Is4():
			return append(b, "IPv4"...)
		case r.Src.Is6():
			return append(b, "IPv6"...)
		}
		return append(b, '-')
	case fPktSrcAddr:
		if r.PktSrc.IsValid() {
			return appendAddr(b, r.PktSrc)
		}
		return appendAddr(b, r.Src)
	case fPktDstAddr:
		if r.PktDst.IsValid() {
			return appendAddr(b, r.PktDst)
		}
		return appendAddr(b, r.Dst)
	case fRegion:
		return appendStr(b, r.ENI.Region)
	case fAZID:
		return appendStr(b, r.ENI.AZID)
	case fFlowDirection:
		if r.Egress {
			return append(b, "egress"...)
		}
		return append(b, "ingress"...)
	case fTrafficPath:
		if !r.Egress || r.TrafficPath == 0 {
			return append(b, '-')
		}
		return strconv.AppendUint(b, uint64(r.TrafficPath), 10)
	}
	// Sublocations, AWS-service ranges, ECS metadata and reject-reason (only
	// ever BPA, never SG/NACL: FL-26) have no source in vpcemu.
	return append(b, '-')
}
