package lessons

import (
	"fmt"
	"strings"
)

// lineDiff names where topology text b differs from a, one entry per run of
// changed lines, each with the place in the file it is at, e.g.
// "instances > id: i-win > conntrack: tcp_established: 1 (file: 432000)".
func lineDiff(a, b string) []string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	// Longest common subsequence, then walk it to find the changed runs.
	n, m := len(al), len(bl)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if al[i] == bl[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	var removed, added []string
	start := -1
	flush := func() {
		if len(removed)+len(added) == 0 {
			return
		}
		first := ""
		if len(removed) > 0 {
			first = removed[0]
		} else {
			first = added[0]
		}
		where := place(al, start, indentOf(first))
		var what string
		switch {
		case len(removed) == 0:
			what = "added " + squash(added)
		case len(added) == 0:
			what = "removed " + squash(removed)
		default:
			what = fmt.Sprintf("%s (file: %s)", squash(added), squash(removed))
		}
		if where != "" {
			what = where + " > " + what
		}
		out = append(out, what)
		removed, added, start = nil, nil, -1
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && al[i] == bl[j]:
			flush()
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			if start < 0 {
				start = i
			}
			added = append(added, bl[j])
			j++
		default:
			if start < 0 {
				start = i
			}
			removed = append(removed, al[i])
			i++
		}
	}
	flush()
	return out
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// place is the path of keys enclosing line index at of lines, for a line
// indented by indent: "network_acls > id: acl-public > ingress".
func place(lines []string, at, indent int) string {
	var path []string
	for k := at - 1; k >= 0 && indent > 0; k-- {
		ind := indentOf(lines[k])
		t := strings.TrimSpace(lines[k])
		if t == "" || ind >= indent {
			continue
		}
		path = append([]string{strings.TrimSuffix(strings.TrimPrefix(t, "- "), ":")}, path...)
		indent = ind
	}
	return strings.Join(path, " > ")
}

// squash joins YAML lines into one, without list dashes.
func squash(lines []string) string {
	var f []string
	for _, l := range lines {
		if t := strings.TrimPrefix(strings.TrimSpace(l), "- "); t != "" {
			f = append(f, t)
		}
	}
	return strings.Join(f, " ")
}
