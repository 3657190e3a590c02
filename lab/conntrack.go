package lab

import (
	"fmt"

	"github.com/vpcemu/vpcemu/loader"
)

// ConntrackEntry is one tracked flow of one ENI, for `vpcemu conntrack`.
type ConntrackEntry struct {
	ENI      string `json:"eni"`
	Instance string `json:"instance"`
	loader.CTEntry
}

// Conntrack lists the tracked flows of one ENI (by ENI or instance id), or
// of every ENI when eni is "".
func (l *Lab) Conntrack(eni string) ([]ConntrackEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []ConntrackEntry
	found := false
	for _, in := range l.topo.Instances {
		if eni != "" && eni != in.ENI.ID && eni != in.ID {
			continue
		}
		found = true
		entries, err := l.dp.sg.Conntrack(in.ENI.ID)
		if err != nil {
			return nil, fmt.Errorf("conntrack of %s: %w", in.ENI.ID, err)
		}
		for _, e := range entries {
			out = append(out, ConntrackEntry{ENI: in.ENI.ID, Instance: in.ID, CTEntry: e})
		}
	}
	if !found {
		return nil, fmt.Errorf("no instance or ENI %q in topology %s", eni, l.topo.Name)
	}
	return out, nil
}
