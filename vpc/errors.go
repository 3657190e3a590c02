package vpc

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one mistake in a topology file, with where it is and what would be valid.
type Error struct {
	File   string
	Line   int    // 1-based; 0 when the mistake has no place in the file
	Column int    // 1-based; 0 when unknown
	Field  string // path of the field, e.g. security_groups[0].ingress[2].ports
	Code   string // AWS's error code where AWS has one, else ""
	Msg    string // what is wrong and what would be valid
}

// Error formats e as file:line:col: field: msg (Code).
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, "%d:", e.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	return b.String()
}

// ErrorList is every mistake found in one topology file, sorted by position.
type ErrorList []*Error

// Error formats the list one error per line.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap exposes the individual errors to errors.As and errors.Is.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sort orders l by line, column, field and message so output is stable.
func (l ErrorList) sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Msg < b.Msg
	})
}
