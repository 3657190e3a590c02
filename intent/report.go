package intent

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Report is the outcome of `vpcemu check`: every intent's decision, the
// policy findings and, with --live, what real packets showed.
type Report struct {
	IntentsFile  string    `json:"intents_file"`
	TopologyFile string    `json:"topology_file"`
	Topology     string    `json:"topology"`
	Results      []*Result `json:"-"`
	Findings     []Finding `json:"findings,omitempty"`
	Policies     []Policy  `json:"policies,omitempty"`
	Live         *Live     `json:"live,omitempty"`
	Seconds      float64   `json:"seconds"`
	Evaluations  int       `json:"evaluations"`
}

// Live is what --live sent and saw.
type Live struct {
	Topology      string         `json:"topology"` // the running topology's name
	Classes       int            `json:"classes"`  // classes of the intents
	Flows         int            `json:"flows"`    // distinct representative flows
	Limit         int            `json:"limit"`
	Sent          int            `json:"sent"` // flows sent as real packets
	Agree         int            `json:"agree"`
	Disagreements []Disagreement `json:"disagreements"`
	Seconds       float64        `json:"seconds"`
}

// Disagreement is a flow whose real packets fared otherwise than the
// evaluator says: an internal error of vpcemu.
type Disagreement struct {
	Flow      Flow   `json:"flow"`
	Evaluator string `json:"evaluator"` // allowed, reply blocked, denied
	Observed  string `json:"observed"`
	Detail    string `json:"detail,omitempty"`
}

// Failed counts the intents that do not hold.
func (r *Report) Failed() int {
	n := 0
	for _, x := range r.Results {
		if !x.Holds {
			n++
		}
	}
	return n
}

// Errors counts the findings of error severity.
func (r *Report) Errors() int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == SeverityError {
			n++
		}
	}
	return n
}

// ExitCode is `vpcemu check`'s status: 0 every intent holds (and no policy
// error), 1 some intent fails or a policy found an error, 3 real packets
// disagreed with the evaluator (an internal error). Invalid input (2) never
// gets this far.
func (r *Report) ExitCode() int {
	switch {
	case r.Live != nil && len(r.Live.Disagreements) > 0:
		return 3
	case r.Failed() > 0 || r.Errors() > 0:
		return 1
	}
	return 0
}

type intentJSON struct {
	Name     string `json:"name"`
	Expect   string `json:"expect"`
	Describe string `json:"describe"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	*Result
}

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	type out struct {
		*Report
		Intents []intentJSON `json:"intents"`
		Passed  int          `json:"passed"`
		Failed  int          `json:"failed"`
		Exit    int          `json:"exit_code"`
	}
	o := out{Report: r, Failed: r.Failed(), Exit: r.ExitCode()}
	o.Passed = len(r.Results) - o.Failed
	for _, x := range r.Results {
		in := x.Intent
		o.Intents = append(o.Intents, intentJSON{Name: in.Title(), Expect: in.Kind(), Describe: in.Describe(), Line: in.Pos.Line, Column: in.Pos.Column, Result: x})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(o)
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = pre + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Checking %s against %s (%s)\n", r.IntentsFile, r.TopologyFile, r.Topology)
	for _, x := range r.Results {
		in := x.Intent
		status := "PASS"
		if !x.Holds {
			status = "FAIL"
		}
		fmt.Fprintf(&b, "%s  %s:%d  %s\n", status, r.IntentsFile, in.Pos.Line, in.Title())
		if in.Name != "" {
			fmt.Fprintf(&b, "      %s\n", in.Describe())
		}
		fmt.Fprintf(&b, "      %s flows in %d classes", countText(x.Flows), x.NClass)
		if x.Holds {
			b.WriteString(", all hold\n")
			continue
		}
		fmt.Fprintf(&b, ", %d classes fail\n", x.Failing)
		ce := x.Counterexample
		fmt.Fprintf(&b, "      counterexample: %s: %s\n", ce.Flow, ce.Verdict)
		for _, rl := range ce.Rules {
			fmt.Fprintf(&b, "        by %s\n", rl.Text)
		}
		b.WriteString(indent(ce.Explain, "      | "))
	}
	if r.Policies != nil {
		fmt.Fprintf(&b, "Policies:")
		for _, p := range r.Policies {
			fmt.Fprintf(&b, " %s", p.ID)
		}
		b.WriteString("\n")
		if len(r.Findings) == 0 {
			b.WriteString("  no findings\n")
		}
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "%-7s %s %s: %s\n", strings.ToUpper(string(f.Severity)), f.Policy, f.Name, f.Message)
			fmt.Fprintf(&b, "        why: %s\n", f.Why)
			for _, rl := range f.Rules {
				if rl.Line > 0 {
					fmt.Fprintf(&b, "        rule: %s (%s:%d)\n", rl.Text, rl.File, rl.Line)
				} else {
					fmt.Fprintf(&b, "        rule: %s\n", rl.Text)
				}
			}
			if f.Flow != nil {
				fmt.Fprintf(&b, "        e.g. %s\n", f.Flow)
			}
		}
	}
	if l := r.Live; l != nil {
		fmt.Fprintf(&b, "Live (%s): sent %d of %d representative flows (limit %d, %d classes) as real packets in %.1fs: %d agree, %d disagree\n",
			l.Topology, l.Sent, l.Flows, l.Limit, l.Classes, l.Seconds, l.Agree, len(l.Disagreements))
		for _, d := range l.Disagreements {
			fmt.Fprintf(&b, "  INTERNAL ERROR: %s: evaluator says %s, packets were %s", d.Flow, d.Evaluator, d.Observed)
			if d.Detail != "" {
				fmt.Fprintf(&b, " (%s)", d.Detail)
			}
			b.WriteString("\n")
		}
	}
	pass := len(r.Results) - r.Failed()
	fmt.Fprintf(&b, "%d of %d intents hold", pass, len(r.Results))
	if r.Policies != nil {
		fmt.Fprintf(&b, "; %d policy findings (%d errors)", len(r.Findings), r.Errors())
	}
	fmt.Fprintf(&b, " (%d flows walked, %.2fs)\n", r.Evaluations, r.Seconds)
	_, err := io.WriteString(w, b.String())
	return err
}

// GitHub Actions workflow commands escape their data and properties.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// WriteGitHub writes GitHub Actions annotations: an error at each failing
// intent's line of the intents file, one per policy finding (at the rule's
// line of the topology file when it has one), and a summary line.
func (r *Report) WriteGitHub(w io.Writer) error {
	var b strings.Builder
	for _, x := range r.Results {
		if x.Holds {
			continue
		}
		in, ce := x.Intent, x.Counterexample
		msg := fmt.Sprintf("%s\ncounterexample: %s: %s\nby %s\n\n%s", in.Describe(), ce.Flow, ce.Verdict, rulesText(ce.Rules), ce.Explain)
		fmt.Fprintf(&b, "::error file=%s,line=%d,col=%d,title=%s::%s\n", ghProp(r.IntentsFile), in.Pos.Line, in.Pos.Column,
			ghProp("intent fails: "+in.Title()), ghData(msg))
	}
	for _, f := range r.Findings {
		loc := ""
		for _, rl := range f.Rules {
			if rl.Line > 0 && rl.File != "" {
				loc = fmt.Sprintf("file=%s,line=%d,", ghProp(rl.File), rl.Line)
				break
			}
		}
		msg := f.Message + "\nwhy: " + f.Why
		if f.Flow != nil {
			msg += "\ne.g. " + f.Flow.String()
		}
		fmt.Fprintf(&b, "::%s %stitle=%s::%s\n", f.Severity, loc, ghProp(f.Policy+" "+f.Name), ghData(msg))
	}
	if l := r.Live; l != nil {
		for _, d := range l.Disagreements {
			fmt.Fprintf(&b, "::error title=%s::%s\n", ghProp("vpcemu internal error: packets disagree with the evaluator"),
				ghData(fmt.Sprintf("%s: evaluator says %s, packets were %s %s", d.Flow, d.Evaluator, d.Observed, d.Detail)))
		}
	}
	fmt.Fprintf(&b, "%d of %d intents hold\n", len(r.Results)-r.Failed(), len(r.Results))
	_, err := io.WriteString(w, b.String())
	return err
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes JUnit XML: a test case per intent, per policy and per
// live disagreement.
func (r *Report) WriteJUnit(w io.Writer) error {
	s := junitSuites{Name: "vpcemu check", Time: fmt.Sprintf("%.3f", r.Seconds)}
	is := junitSuite{Name: r.IntentsFile}
	for _, x := range r.Results {
		in := x.Intent
		c := junitCase{Name: in.Title(), Classname: "intents." + in.Kind(), File: r.IntentsFile, Line: in.Pos.Line}
		if !x.Holds {
			ce := x.Counterexample
			c.Failure = &junitFailure{Message: fmt.Sprintf("counterexample: %s: %s (by %s)", ce.Flow, ce.Verdict, rulesText(ce.Rules)),
				Type: "IntentFailed", Text: in.Describe() + "\n\n" + ce.Explain}
			is.Failures++
		}
		is.Cases = append(is.Cases, c)
	}
	is.Tests = len(is.Cases)
	s.Suites = append(s.Suites, is)
	if r.Policies != nil {
		ps := junitSuite{Name: "policy default"}
		for _, p := range r.Policies {
			c := junitCase{Name: p.ID + " " + p.Name, Classname: "policy." + string(p.Severity)}
			var msgs []string
			for _, f := range r.Findings {
				if f.Policy == p.ID {
					msgs = append(msgs, f.Message)
				}
			}
			if len(msgs) > 0 && p.Severity == SeverityError {
				c.Failure = &junitFailure{Message: fmt.Sprintf("%d findings: %s", len(msgs), msgs[0]), Type: "PolicyFinding",
					Text: p.Why + "\n\n" + strings.Join(msgs, "\n")}
				ps.Failures++
			}
			ps.Cases = append(ps.Cases, c)
		}
		ps.Tests = len(ps.Cases)
		s.Suites = append(s.Suites, ps)
	}
	if l := r.Live; l != nil {
		ls := junitSuite{Name: "live " + l.Topology}
		c := junitCase{Name: fmt.Sprintf("%d representative flows as real packets", l.Sent), Classname: "live"}
		if len(l.Disagreements) > 0 {
			var lines []string
			for _, d := range l.Disagreements {
				lines = append(lines, fmt.Sprintf("%s: evaluator says %s, packets were %s %s", d.Flow, d.Evaluator, d.Observed, d.Detail))
			}
			c.Error = &junitFailure{Message: fmt.Sprintf("%d flows disagree with the evaluator", len(l.Disagreements)), Type: "InternalError", Text: strings.Join(lines, "\n")}
			ls.Errors++
		}
		ls.Cases = append(ls.Cases, c)
		ls.Tests = 1
		s.Suites = append(s.Suites, ls)
	}
	for _, x := range s.Suites {
		s.Tests += x.Tests
		s.Failures += x.Failures
		s.Errors += x.Errors
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
