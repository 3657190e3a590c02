package vpc

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strings"

	"go.yaml.in/yaml/v3"
)

// TrafficMirror is a topology's Traffic Mirroring (spec §5): targets,
// filters and the sessions that tie a source ENI to a target through a
// filter. The file's `traffic_mirror:` mapping; the EC2 API's
// CreateTrafficMirrorTarget/Filter/FilterRule/Session edit the same.
type TrafficMirror struct {
	Targets  []MirrorTarget
	Filters  []MirrorFilter
	Sessions []MirrorSession
}

// MirrorTarget is where mirrored packets go: an instance's ENI (TM-1; NLB
// and GWLB endpoint targets are not emulated).
type MirrorTarget struct {
	ID          string // tmt-...
	ENI         string // the target ENI's id (the file may name its instance)
	Description string
	Tags        Tags
	Pos         Pos
}

// MirrorFilter decides which packets a session mirrors (TM-4, TM-5).
type MirrorFilter struct {
	ID       string // tmf-...
	Inbound  []MirrorRule
	Outbound []MirrorRule
	// NetworkServices opts in traffic of AWS services (TM-6): "amazon-dns".
	NetworkServices []string
	Description     string
	Tags            Tags
	Pos             Pos
}

// MirrorRule is one numbered filter rule.
type MirrorRule struct {
	// ID is the rule's tmfr-… id: the file's id:, else derived from the
	// filter, the direction and the rule number (MirrorRuleID), so a file
	// and its export agree.
	ID       string
	Number   int  // 1-32766, lowest first (TM-4)
	Accept   bool // accept = mirror, reject = do not
	Protocol int  // IANA number; ProtoAll when the rule names none
	// SrcPorts and DstPorts apply to TCP and UDP only; AllPorts when unset.
	SrcPorts, DstPorts PortRange
	SrcCIDR, DstCIDR   netip.Prefix // both set, of one family
	Description        string
	Pos                Pos
}

// MirrorSession mirrors one source ENI's packets that its filter accepts
// to its target (TM-2, TM-3).
type MirrorSession struct {
	ID     string // tms-...
	Source string // the source ENI's id (the file may name its instance)
	Target string // a MirrorTarget id
	Filter string // a MirrorFilter id
	Number int    // session number 1-32766: lower is evaluated first
	// VNI is the VXLAN network identifier; when the file gives none, one
	// derived from the session id, unique among the topology's sessions
	// (AWS picks a random unique one).
	VNI int
	// PacketLength is how many bytes of each packet are copied after the
	// VXLAN header (TM-10); 0 copies the whole packet.
	PacketLength int
	Description  string
	Tags         Tags
	Pos          Pos
}

// Traffic Mirroring limits (TM-7, not adjustable).
const (
	MirrorSessionsPerENI    = 3
	MirrorRulesPerFilter    = 10
	MirrorSourcesPerTarget  = 10
	MirrorMaxRuleNumber     = 32766 // [INTERP] TM-4 leaves the range unconfirmed
	MirrorMaxSessionNumber  = 32766
	MirrorMaxVNI            = 1<<24 - 1
	MirrorMaxPacketLength   = 65535 // [INTERP] ENI targets: the target's MTU truncates anyway (TM-9)
	MirrorServiceAmazonDNS  = "amazon-dns"
	mirrorVNIDerivedModulus = 1 << 24
)

var (
	mirrorKeys        = []string{"targets", "filters", "sessions"}
	mirrorTargetKeys  = []string{"id", "network_interface", "description", "tags"}
	mirrorFilterKeys  = []string{"id", "inbound", "outbound", "network_services", "description", "tags"}
	mirrorRuleKeys    = []string{"id", "rule", "action", "protocol", "source_ports", "destination_ports", "source_cidr", "destination_cidr", "description"}
	mirrorSessionKeys = []string{"id", "source", "target", "filter", "session_number", "vni", "packet_length", "description", "tags"}

	mirrorRuleNumberSpec    = intSpec{1, MirrorMaxRuleNumber, "InvalidParameterValue", fmt.Sprintf("a rule number from 1 to %d", MirrorMaxRuleNumber)}
	mirrorSessionNumberSpec = intSpec{1, MirrorMaxSessionNumber, "InvalidParameterValue", fmt.Sprintf("a session number from 1 to %d (lower is evaluated first)", MirrorMaxSessionNumber)}
	mirrorVNISpec           = intSpec{0, MirrorMaxVNI, "InvalidParameterValue", fmt.Sprintf("a VXLAN network identifier from 0 to %d", MirrorMaxVNI)}
	mirrorPacketLengthSpec  = intSpec{1, MirrorMaxPacketLength, "InvalidParameterValue", fmt.Sprintf("bytes from 1 to %d, or no packet_length for whole packets", MirrorMaxPacketLength)}
)

// trafficMirror decodes the top-level traffic_mirror mapping.
func (d *decoder) trafficMirror(o object) TrafficMirror {
	n := o.get("traffic_mirror")
	if n == nil || isNull(resolve(n)) {
		return TrafficMirror{}
	}
	mo, ok := d.mapping(n, "traffic_mirror", mirrorKeys...)
	if !ok {
		return TrafficMirror{}
	}
	return TrafficMirror{
		Targets:  decodeList(d, mo, "targets", d.mirrorTarget),
		Filters:  decodeList(d, mo, "filters", d.mirrorFilter),
		Sessions: decodeList(d, mo, "sessions", d.mirrorSession),
	}
}

func (d *decoder) mirrorTarget(n *yaml.Node, path string, _ int) (MirrorTarget, bool) {
	o, ok := d.mapping(n, path, mirrorTargetKeys...)
	if !ok {
		return MirrorTarget{}, false
	}
	t := MirrorTarget{Pos: pos(o.node)}
	t.ID = d.str(o, "id", true)
	t.ENI = d.str(o, "network_interface", true)
	t.Description = d.str(o, "description", false)
	t.Tags = d.tags(o)
	return t, true
}

func (d *decoder) mirrorFilter(n *yaml.Node, path string, _ int) (MirrorFilter, bool) {
	o, ok := d.mapping(n, path, mirrorFilterKeys...)
	if !ok {
		return MirrorFilter{}, false
	}
	f := MirrorFilter{Pos: pos(o.node)}
	f.ID = d.str(o, "id", true)
	f.Inbound = decodeList(d, o, "inbound", d.mirrorRule)
	f.Outbound = decodeList(d, o, "outbound", d.mirrorRule)
	f.NetworkServices, _ = d.strList(o, "network_services")
	f.Description = d.str(o, "description", false)
	f.Tags = d.tags(o)
	return f, true
}

func (d *decoder) mirrorRule(n *yaml.Node, path string, _ int) (MirrorRule, bool) {
	o, ok := d.mapping(n, path, mirrorRuleKeys...)
	if !ok {
		return MirrorRule{}, false
	}
	r := MirrorRule{Pos: pos(o.node), Protocol: ProtoAll, SrcPorts: AllPorts, DstPorts: AllPorts}
	r.ID = d.str(o, "id", false)
	if _, _, present := d.scalar(o, "rule", true); present {
		r.Number, _ = d.integer(o, "rule", 0, mirrorRuleNumberSpec)
	}
	v, an, aok := d.scalar(o, "action", true)
	switch strings.ToLower(v) {
	case "accept":
		r.Accept = true
	case "reject":
	default:
		if aok {
			d.errAt(an, join(path, "action"), "InvalidParameterValue", "%q is not a valid action; valid: accept (mirror) or reject (do not mirror)", v)
		}
	}
	if o.get("protocol") != nil {
		r.Protocol = d.protocol(o)
	}
	for _, pf := range []struct {
		key string
		pr  *PortRange
	}{{"source_ports", &r.SrcPorts}, {"destination_ports", &r.DstPorts}} {
		if v, n, present := d.scalar(o, pf.key, false); present {
			if pr, ok := scanPorts(v); ok {
				*pf.pr = pr
			} else {
				d.errAt(n, join(path, pf.key), "InvalidParameterValue", "%s", badPorts(v))
			}
		}
	}
	r.SrcCIDR = d.mirrorCIDR(o, "source_cidr")
	r.DstCIDR = d.mirrorCIDR(o, "destination_cidr")
	r.Description = d.str(o, "description", false)
	return r, true
}

// badMirrorCIDR is the message for a filter rule's CIDR that is not one.
func badMirrorCIDR(text string) string {
	return fmt.Sprintf("%q is not a valid CIDR; valid: address/length such as 0.0.0.0/0, 10.0.1.0/24 or ::/0", text)
}

// mirrorCIDR decodes a filter rule's CIDR: required, IPv4 or IPv6 (TM-4).
func (d *decoder) mirrorCIDR(o object, key string) netip.Prefix {
	v, n, ok := d.scalar(o, key, true)
	if !ok {
		return netip.Prefix{}
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(v))
	if err != nil {
		d.errAt(n, join(o.path, key), "InvalidParameterValue", "%s", badMirrorCIDR(v))
		return netip.Prefix{}
	}
	return p
}

func (d *decoder) mirrorSession(n *yaml.Node, path string, _ int) (MirrorSession, bool) {
	o, ok := d.mapping(n, path, mirrorSessionKeys...)
	if !ok {
		return MirrorSession{}, false
	}
	s := MirrorSession{Pos: pos(o.node), VNI: -1}
	s.ID = d.str(o, "id", true)
	s.Source = d.str(o, "source", true)
	s.Target = d.str(o, "target", true)
	s.Filter = d.str(o, "filter", true)
	if _, _, present := d.scalar(o, "session_number", true); present {
		s.Number, _ = d.integer(o, "session_number", 0, mirrorSessionNumberSpec)
	}
	if o.get("vni") != nil {
		s.VNI, _ = d.integer(o, "vni", -1, mirrorVNISpec)
	}
	s.PacketLength, _ = d.integer(o, "packet_length", 0, mirrorPacketLengthSpec)
	s.Description = d.str(o, "description", false)
	s.Tags = d.tags(o)
	return s, true
}

// checkMirror checks the fields of Traffic Mirroring's targets, filters
// and sessions, and marks those that cannot take part in the checks
// between objects.
func (c *checker) checkMirror() {
	tm := &c.t.TrafficMirror
	mp := root("traffic_mirror")
	for i := range tm.Targets {
		p := mp.index("targets", i)
		if c.isBad(p) {
			continue
		}
		tg := &tm.Targets[i]
		c.checkID(&p, "id", tg.ID, c.given(&p, "id", true))
		c.checkIDRef(p, "network_interface", tg.ENI, "an ENI id or an instance id")
		c.checkTags(p, &tg.Tags)
		if tg.ID == "" || tg.ENI == "" {
			c.mark(p)
		}
	}
	for i := range tm.Filters {
		p := mp.index("filters", i)
		if c.isBad(p) {
			continue
		}
		f := &tm.Filters[i]
		c.checkID(&p, "id", f.ID, c.given(&p, "id", true))
		for j := range f.Inbound {
			c.checkMirrorRule(p.index("inbound", j), &f.Inbound[j])
		}
		for j := range f.Outbound {
			c.checkMirrorRule(p.index("outbound", j), &f.Outbound[j])
		}
		svcs := f.NetworkServices[:0]
		for k, s := range f.NetworkServices {
			if s != MirrorServiceAmazonDNS {
				c.errf(p.index("network_services", k), "InvalidParameterValue", "%q is not a network service; valid: %s", s, MirrorServiceAmazonDNS)
				continue
			}
			svcs = append(svcs, s)
		}
		if len(svcs) == 0 {
			svcs = nil
		}
		f.NetworkServices = svcs
		c.checkTags(p, &f.Tags)
		if f.ID == "" {
			c.mark(p)
		}
	}
	for i := range tm.Sessions {
		p := mp.index("sessions", i)
		if c.isBad(p) {
			continue
		}
		s := &tm.Sessions[i]
		c.checkID(&p, "id", s.ID, c.given(&p, "id", true))
		c.checkIDRef(p, "source", s.Source, "an ENI id or an instance id")
		c.checkIDRef(p, "target", s.Target, "a traffic mirror target id")
		c.checkIDRef(p, "filter", s.Filter, "a traffic mirror filter id")
		ok := s.ID != "" && s.Source != "" && s.Target != "" && s.Filter != ""
		ok = c.mirrorInt(p, "session_number", &s.Number, true, mirrorSessionNumberSpec, 0) && ok
		// The export always writes the VNI; a file that gives none, or an
		// edit that leaves it -1 (the API's session without one), gets one
		// derived (validateMirror).
		ok = c.mirrorInt(p, "vni", &s.VNI, s.VNI != -1, mirrorVNISpec, -1) && ok
		ok = c.mirrorInt(p, "packet_length", &s.PacketLength, s.PacketLength != 0, mirrorPacketLengthSpec, 0) && ok
		c.checkTags(p, &s.Tags)
		if !ok {
			c.mark(p)
		}
	}
}

// checkIDRef checks the syntax of an id that names another object.
func (c *checker) checkIDRef(p fpath, key, id, valid string) {
	if c.given(&p, key, true) && !isID(id) {
		c.errf(p.key(key), "", "%q is not valid; valid: %s", id, valid)
	}
}

// mirrorInt checks an integer field when the topology gives it (inModel:
// whether the export writes it); it reports whether the field is good.
func (c *checker) mirrorInt(p fpath, key string, v *int, inModel bool, spec intSpec, def int) bool {
	if !c.given(&p, key, inModel) {
		return !c.failed(&p, key) // a required field left out was reported when decoded
	}
	return !c.failed(&p, key) && c.intIn(&p, key, v, spec, def)
}

func (c *checker) checkMirrorRule(rp fpath, r *MirrorRule) {
	if c.isBad(rp) {
		return
	}
	c.checkIDRef(rp, "id", r.ID, "a rule id such as tmfr-0123456789abcdef0, or none for a derived one")
	ok := c.mirrorInt(rp, "rule", &r.Number, true, mirrorRuleNumberSpec, 0)
	ok = !c.failed(&rp, "action") && ok
	if c.given(&rp, "protocol", r.Protocol != ProtoAll) {
		ok = c.checkProtocol(&rp, &r.Protocol) && ok
	}
	for _, pf := range []struct {
		key string
		pr  *PortRange
	}{{"source_ports", &r.SrcPorts}, {"destination_ports", &r.DstPorts}} {
		if !c.given(&rp, pf.key, *pf.pr != AllPorts) {
			continue
		}
		switch pr := *pf.pr; {
		case c.failed(&rp, pf.key):
			ok = false
		case pr.From < 0 || pr.To > 65535 || pr.From > pr.To:
			f := rp.key(pf.key)
			c.errf(f, "InvalidParameterValue", "%s", badPorts(c.text(f, pr.String())))
			*pf.pr, ok = AllPorts, false
		case r.Protocol != ProtoTCP && r.Protocol != ProtoUDP:
			c.errf(rp.key(pf.key), "InvalidParameterCombination", "port ranges apply to TCP and UDP only; this rule's protocol is %s; valid: protocol tcp or udp, or no %s", ProtocolName(r.Protocol), pf.key)
			*pf.pr, ok = AllPorts, false
		}
	}
	r.SrcCIDR = c.mirrorCIDRIn(rp, "source_cidr", r.SrcCIDR)
	r.DstCIDR = c.mirrorCIDRIn(rp, "destination_cidr", r.DstCIDR)
	if r.SrcCIDR.IsValid() && r.DstCIDR.IsValid() && r.SrcCIDR.Addr().Is4() != r.DstCIDR.Addr().Is4() {
		c.errf(rp.key("destination_cidr"), "InvalidParameterCombination", "source_cidr %s and destination_cidr %s are of different families; valid: both IPv4 or both IPv6", r.SrcCIDR, r.DstCIDR)
		ok = false
	}
	if !ok || !r.SrcCIDR.IsValid() || !r.DstCIDR.IsValid() {
		c.mark(rp)
	}
}

// mirrorCIDRIn checks a filter rule's CIDR (required, IPv4 or IPv6) and
// clears its host bits (TM-4); the zero prefix when it is none.
func (c *checker) mirrorCIDRIn(rp fpath, key string, p netip.Prefix) netip.Prefix {
	text := ""
	if p.IsValid() {
		text = p.String()
		if !p.Addr().Is4In6() && p.Addr().Zone() == "" {
			return p.Masked()
		}
	}
	f := rp.key(key)
	c.errf(f, "InvalidParameterValue", "%s", badMirrorCIDR(c.text(f, text)))
	return netip.Prefix{}
}

// validateMirror checks the references and quotas of Traffic Mirroring and
// resolves instance ids to their primary ENIs.
func (c *checker) validateMirror() {
	t := c.t
	tm := &t.TrafficMirror
	if len(tm.Targets)+len(tm.Filters)+len(tm.Sessions) == 0 {
		return
	}
	mp := root("traffic_mirror")
	// An ENI by its id or its instance's: the VPC it is in, "" when unknown.
	resolveENI := func(f fpath, id string) (string, string) {
		if e, _ := t.ENI(id); e != nil {
			return e.ID, t.VPCOfSubnetID(e.Subnet)
		}
		if in := t.Instance(id); in != nil {
			return in.ENI.ID, t.VPCOfSubnetID(in.ENI.Subnet)
		}
		c.errf(f, "InvalidNetworkInterfaceID.NotFound", "unknown network interface %q; valid: an instance's ENI id or an instance id (%s)", id, choices(instanceIDs(t)))
		return "", ""
	}
	targetVPC := map[string]string{}
	targets := map[string]int{}
	for i := range tm.Targets {
		tg := &tm.Targets[i]
		p := mp.index("targets", i)
		if c.isBad(p) {
			continue
		}
		if _, dup := targets[tg.ID]; dup {
			c.dupID(p.key("id"), "traffic mirror target", tg.ID)
		}
		targets[tg.ID] = i
		c.register(tg.ID, ref{kind: "traffic mirror target", field: p})
		tg.ENI, targetVPC[tg.ID] = resolveENI(p.key("network_interface"), tg.ENI)
	}
	filters := map[string]bool{}
	ruleIDs := map[string]fpath{}
	for i := range tm.Filters {
		f := &tm.Filters[i]
		p := mp.index("filters", i)
		if c.isBad(p) {
			continue
		}
		if filters[f.ID] {
			c.dupID(p.key("id"), "traffic mirror filter", f.ID)
		}
		filters[f.ID] = true
		c.register(f.ID, ref{kind: "traffic mirror filter", field: p})
		if n := len(f.Inbound) + len(f.Outbound); n > MirrorRulesPerFilter {
			c.errf(p, "TrafficMirrorFilterRuleLimitExceeded", "%d rules; a traffic mirror filter has at most %d (inbound and outbound together)", n, MirrorRulesPerFilter)
		}
		for _, dir := range []struct {
			key   string
			rules []MirrorRule
		}{{"inbound", f.Inbound}, {"outbound", f.Outbound}} {
			seen := map[int]int{}
			for j, r := range dir.rules {
				rp := p.index(dir.key, j)
				if c.isBad(rp) {
					continue
				}
				if first, dup := seen[r.Number]; dup {
					c.dupAt(rp.key("rule"), "TrafficMirrorFilterRuleAlreadyExists", fmt.Sprintf("%s rule number %d", dir.key, r.Number), p.index(dir.key, first))
				}
				seen[r.Number] = j
				if first, dup := ruleIDs[r.ID]; dup && r.ID != "" {
					c.dupAt(rp.key("id"), "", fmt.Sprintf("rule id %q", r.ID), first.key("id"))
				} else {
					ruleIDs[r.ID] = rp
				}
			}
		}
	}
	sessions := map[string]bool{}
	perSource := map[string][]int{} // source ENI -> session indexes
	perTarget := map[string]map[string]bool{}
	vnis := map[int]bool{}
	for i := range tm.Sessions {
		if s := &tm.Sessions[i]; s.VNI >= 0 {
			vnis[s.VNI] = true
		}
	}
	for i := range tm.Sessions {
		s := &tm.Sessions[i]
		p := mp.index("sessions", i)
		if c.isBad(p) {
			continue
		}
		if sessions[s.ID] {
			c.dupID(p.key("id"), "traffic mirror session", s.ID)
		}
		sessions[s.ID] = true
		c.register(s.ID, ref{kind: "traffic mirror session", field: p})
		src, srcVPC := resolveENI(p.key("source"), s.Source)
		s.Source = src
		ti, known := targets[s.Target]
		if !known {
			c.errf(p.key("target"), "InvalidTrafficMirrorTargetId.NotFound", "unknown traffic mirror target %q; valid: %s", s.Target, choices(keys(targets)))
		}
		if !filters[s.Filter] {
			c.errf(p.key("filter"), "InvalidTrafficMirrorFilterId.NotFound", "unknown traffic mirror filter %q; valid: %s", s.Filter, choices(filters))
		}
		if src == "" || !known || c.isBad(mp.index("targets", ti)) {
			continue
		}
		tgt := &tm.Targets[ti]
		switch {
		case tgt.ENI == src:
			c.errf(p.key("target"), "InvalidParameterCombination", "%s is both the source and the target's ENI; valid: a target on another ENI (TM-1)", src)
		case tgt.ENI != "" && targetVPC[tgt.ID] != srcVPC:
			c.errf(p.key("target"), "InvalidParameterCombination", "target %s (ENI %s) is in %s, the source %s in %s; valid: a target in the source's VPC (vpcemu mirrors within one VPC)",
				tgt.ID, tgt.ENI, targetVPC[tgt.ID], src, srcVPC)
		}
		for _, j := range perSource[src] {
			if tm.Sessions[j].Number == s.Number {
				c.dupAt(p.key("session_number"), "InvalidParameterValue", fmt.Sprintf("session number %d on %s", s.Number, src), mp.index("sessions", j))
			}
		}
		perSource[src] = append(perSource[src], i)
		if n := len(perSource[src]); n == MirrorSessionsPerENI+1 {
			c.errf(p, "TrafficMirrorSessionsPerInterfaceLimitExceeded", "a fourth session on source %s; a source ENI has at most %d sessions", src, MirrorSessionsPerENI)
		}
		if perTarget[s.Target] == nil {
			perTarget[s.Target] = map[string]bool{}
		}
		perTarget[s.Target][src] = true
		if n := len(perTarget[s.Target]); n == MirrorSourcesPerTarget+1 && !perTarget[s.Target][""] {
			c.errf(p.key("target"), "TrafficMirrorSourcesPerTargetLimitExceeded", "target %s would have %d sources; a target has at most %d", s.Target, n, MirrorSourcesPerTarget)
		}
		if s.VNI < 0 {
			s.VNI = derivedVNI(s.ID, vnis)
			vnis[s.VNI] = true
		}
	}
}

// setMirrorRuleIDs gives every filter rule without an id its derived one.
func setMirrorRuleIDs(tm *TrafficMirror) {
	for i := range tm.Filters {
		f := &tm.Filters[i]
		for j := range f.Inbound {
			if f.Inbound[j].ID == "" {
				f.Inbound[j].ID = MirrorRuleID(f.ID, false, f.Inbound[j].Number)
			}
		}
		for j := range f.Outbound {
			if f.Outbound[j].ID == "" {
				f.Outbound[j].ID = MirrorRuleID(f.ID, true, f.Outbound[j].Number)
			}
		}
	}
}

// MirrorRuleID is the id of a filter's inbound (outbound false) or
// outbound rule with number n when the file gives none: derived from the
// filter, the direction and the number (unique per direction, TM-4), so a
// file and its export agree.
func MirrorRuleID(filter string, outbound bool, n int) string {
	dir := "inbound"
	if outbound {
		dir = "outbound"
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%d", filter, dir, n)))
	return "tmfr-" + hex.EncodeToString(sum[:])[:17]
}

// derivedVNI is a VNI for a session that names none: a hash of its id,
// moved on past the VNIs in use.
func derivedVNI(id string, used map[int]bool) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	v := int(h.Sum32() % mirrorVNIDerivedModulus)
	for used[v] {
		v = (v + 1) % mirrorVNIDerivedModulus
	}
	return v
}

func instanceIDs(t *Topology) map[string]bool {
	out := map[string]bool{}
	for _, in := range t.Instances {
		out[in.ID] = true
	}
	return out
}

func keys[V any](m map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// MirrorSessionsOf lists the sessions whose source is eni, by ascending
// session number (the order they are evaluated in, TM-3).
func (t *Topology) MirrorSessionsOf(eni string) []*MirrorSession {
	var out []*MirrorSession
	for i := range t.TrafficMirror.Sessions {
		if s := &t.TrafficMirror.Sessions[i]; s.Source == eni {
			out = append(out, s)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Number < out[j-1].Number; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// MirrorTarget returns the target with id, or nil.
func (t *Topology) MirrorTarget(id string) *MirrorTarget {
	for i := range t.TrafficMirror.Targets {
		if t.TrafficMirror.Targets[i].ID == id {
			return &t.TrafficMirror.Targets[i]
		}
	}
	return nil
}

// MirrorFilter returns the filter with id, or nil.
func (t *Topology) MirrorFilter(id string) *MirrorFilter {
	for i := range t.TrafficMirror.Filters {
		if t.TrafficMirror.Filters[i].ID == id {
			return &t.TrafficMirror.Filters[i]
		}
	}
	return nil
}
