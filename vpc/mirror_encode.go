package vpc

import "go.yaml.in/yaml/v3"

type (
	fileMirror struct {
		Targets  []fileMirrorTarget  `yaml:"targets,omitempty"`
		Filters  []fileMirrorFilter  `yaml:"filters,omitempty"`
		Sessions []fileMirrorSession `yaml:"sessions,omitempty"`
	}
	fileMirrorTarget struct {
		ID          string `yaml:"id"`
		ENI         string `yaml:"network_interface"`
		Description string `yaml:"description,omitempty"`
		Tags        Tags   `yaml:"tags,omitempty"`
	}
	fileMirrorFilter struct {
		ID              string           `yaml:"id"`
		Inbound         []fileMirrorRule `yaml:"inbound,omitempty"`
		Outbound        []fileMirrorRule `yaml:"outbound,omitempty"`
		NetworkServices []string         `yaml:"network_services,omitempty"`
		Description     string           `yaml:"description,omitempty"`
		Tags            Tags             `yaml:"tags,omitempty"`
	}
	fileMirrorRule struct {
		ID          string `yaml:"id,omitempty"`
		Rule        int    `yaml:"rule"`
		Action      string `yaml:"action"`
		Protocol    string `yaml:"protocol,omitempty"`
		SrcPorts    string `yaml:"source_ports,omitempty"`
		DstPorts    string `yaml:"destination_ports,omitempty"`
		SrcCIDR     string `yaml:"source_cidr"`
		DstCIDR     string `yaml:"destination_cidr"`
		Description string `yaml:"description,omitempty"`
	}
	fileMirrorSession struct {
		ID           string `yaml:"id"`
		Source       string `yaml:"source"`
		Target       string `yaml:"target"`
		Filter       string `yaml:"filter"`
		Number       int    `yaml:"session_number"`
		VNI          int    `yaml:"vni"`
		PacketLength int    `yaml:"packet_length,omitempty"`
		Description  string `yaml:"description,omitempty"`
		Tags         Tags   `yaml:"tags,omitempty"`
	}
)

// encodeMirror writes tm as the file does; nil when there is none.
func encodeMirror(tm *TrafficMirror) *fileMirror {
	if len(tm.Targets)+len(tm.Filters)+len(tm.Sessions) == 0 {
		return nil
	}
	f := &fileMirror{}
	for _, t := range tm.Targets {
		f.Targets = append(f.Targets, fileMirrorTarget{t.ID, t.ENI, t.Description, t.Tags})
	}
	rules := func(filter string, outbound bool, rs []MirrorRule) []fileMirrorRule {
		var out []fileMirrorRule
		for _, r := range rs {
			fr := fileMirrorRule{Rule: r.Number, Action: "reject", SrcCIDR: r.SrcCIDR.String(), DstCIDR: r.DstCIDR.String(), Description: r.Description}
			if r.ID != MirrorRuleID(filter, outbound, r.Number) {
				fr.ID = r.ID
			}
			if r.Accept {
				fr.Action = "accept"
			}
			if r.Protocol != ProtoAll {
				fr.Protocol = ProtocolName(r.Protocol)
			}
			if r.SrcPorts != AllPorts {
				fr.SrcPorts = r.SrcPorts.String()
			}
			if r.DstPorts != AllPorts {
				fr.DstPorts = r.DstPorts.String()
			}
			out = append(out, fr)
		}
		return out
	}
	for _, x := range tm.Filters {
		f.Filters = append(f.Filters, fileMirrorFilter{x.ID, rules(x.ID, false, x.Inbound), rules(x.ID, true, x.Outbound), x.NetworkServices, x.Description, x.Tags})
	}
	for _, s := range tm.Sessions {
		f.Sessions = append(f.Sessions, fileMirrorSession{s.ID, s.Source, s.Target, s.Filter, s.Number, s.VNI, s.PacketLength, s.Description, s.Tags})
	}
	return f
}

// encodeMirrorYAML is tm as the file writes it (positions left out), to
// compare two topologies' mirroring.
func encodeMirrorYAML(tm *TrafficMirror) []byte {
	b, _ := yaml.Marshal(encodeMirror(tm))
	return b
}
