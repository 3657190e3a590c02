package ec2api

import (
	"encoding/xml"
	"strings"
	"testing"
)

// xnode is a parsed XML element, for asserting on the exact elements a
// response carries (names, presence, order).
type xnode struct {
	name string
	text string
	kids []*xnode
}

func parseXML(t *testing.T, body string) *xnode {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(body))
	root := &xnode{}
	stack := []*xnode{root}
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch x := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: x.Name.Local}
			top := stack[len(stack)-1]
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			stack[len(stack)-1].text += string(x)
		}
	}
	if len(root.kids) != 1 {
		t.Fatalf("not one XML document: %s", body)
	}
	return root.kids[0]
}

// all returns the elements at a slash-separated path below n; a segment
// name[k=v] keeps the elements whose child k has the text v.
func (n *xnode) all(path string) []*xnode {
	cur := []*xnode{n}
	for _, seg := range splitPath(path) {
		name, conds, _ := strings.Cut(seg, "[")
		var preds [][2]string
		for c := range strings.SplitSeq(strings.TrimSuffix(conds, "]"), "][") {
			if k, v, ok := strings.Cut(c, "="); ok {
				preds = append(preds, [2]string{k, v})
			}
		}
		var next []*xnode
		for _, c := range cur {
		kids:
			for _, k := range c.kids {
				if k.name != name {
					continue
				}
				for _, p := range preds {
					m := k.all(p[0])
					if len(m) != 1 || strings.TrimSpace(m[0].text) != p[1] {
						continue kids
					}
				}
				next = append(next, k)
			}
		}
		cur = next
	}
	return cur
}

// get returns the text of the one element at path, failing otherwise.
func (n *xnode) get(t *testing.T, path string) string {
	t.Helper()
	all := n.all(path)
	if len(all) != 1 {
		t.Fatalf("%s: %d elements at %s, want 1", n.name, len(all), path)
	}
	return strings.TrimSpace(all[0].text)
}

// has reports whether an element exists at path.
func (n *xnode) has(path string) bool { return len(n.all(path)) > 0 }

// splitPath splits at slashes outside [...] (conditions may hold CIDRs).
func splitPath(path string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(path); i++ {
		switch path[i] {
		case '[':
			depth++
		case ']':
			depth--
		case '/':
			if depth == 0 {
				out = append(out, path[start:i])
				start = i + 1
			}
		}
	}
	return append(out, path[start:])
}
