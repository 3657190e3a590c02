package intent

import (
	"sort"

	"github.com/vpcemu/vpcemu/vpc"
)

// LiveFlow is a representative flow to send as real packets, with the
// evaluator's verdict on it.
type LiveFlow struct {
	Flow    Flow
	Verdict string // allowed, reply blocked, denied
	Intent  int    // index of the first intent whose class it stands for
}

// LiveFlows picks one representative flow per class of the results that
// real packets can carry (TCP and UDP with non-zero ports, ICMP echo),
// without repeats, at most limit of them: the classes of failing intents
// and failing classes first, then the others, taking from every intent in
// turn so that each gets its share. total is how many distinct sendable
// flows there were.
func (c *Checker) LiveFlows(results []*Result, limit int) (out []LiveFlow, total int) {
	defer func() {
		// The evaluator's verdict on each chosen flow, reply included
		// (classes of one-way intents were decided by the first packet).
		for i := range out {
			o := c.m.eval(flowOf(out[i].Flow))
			out[i].Verdict = o.verdict()
		}
	}()
	type cand struct {
		lf   LiveFlow
		rank int
	}
	seen := map[Flow]bool{}
	perIntent := make([][]cand, len(results))
	for i, r := range results {
		for _, c := range r.Classes {
			f, ok := sendable(c)
			if !ok || seen[f] {
				continue
			}
			seen[f] = true
			total++
			rank := 2
			switch {
			case !c.Holds:
				rank = 0
			case !r.Holds:
				rank = 1
			}
			perIntent[i] = append(perIntent[i], cand{LiveFlow{Flow: f, Verdict: c.Verdict, Intent: i}, rank})
		}
		sort.SliceStable(perIntent[i], func(a, b int) bool { return perIntent[i][a].rank < perIntent[i][b].rank })
	}
	for rank := 0; rank <= 2 && len(out) < limit; rank++ {
		for progress := true; progress && len(out) < limit; {
			progress = false
			for i := range perIntent {
				if len(perIntent[i]) > 0 && perIntent[i][0].rank == rank && len(out) < limit {
					out = append(out, perIntent[i][0].lf)
					perIntent[i] = perIntent[i][1:]
					progress = true
				}
			}
		}
	}
	return out, total
}

// sendable is a class's flow as a probe can send it: ports inside the
// class but never 0 (no socket binds or connects to port 0).
func sendable(c Class) (Flow, bool) {
	f := c.Flow
	switch f.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		if c.l4.hi < 1 || c.sports.hi < 1 {
			return f, false
		}
		f.DstPort = max(c.l4.lo, 1)
		f.SrcPort = max(c.sports.lo, 1)
		return f, true
	case vpc.ProtoICMP:
		return f, f.ICMPType == 8 && f.ICMPCode == 0 && f.Src.Is4()
	case vpc.ProtoICMPv6:
		return f, f.ICMPType == 128 && f.ICMPCode == 0 && f.Src.Is6()
	}
	return f, false
}

func flowOf(f Flow) flow {
	out := flow{src: f.Src, dst: f.Dst, proto: f.Protocol}
	switch f.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		out.sport, out.l4 = f.SrcPort, f.DstPort
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		out.l4 = f.ICMPType<<8 | f.ICMPCode
	}
	return out
}
