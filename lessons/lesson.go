package lessons

import (
	"embed"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

// Topologies holds every lesson's topology file, topologies/NAME.yaml; the
// same files are in examples/lessons for users to open and edit.
//
//go:embed topologies/*.yaml
var Topologies embed.FS

// Lesson is one experiment: a topology and the steps run against it.
type Lesson struct {
	Name  string // e.g. "nacl-ephemeral"
	Short string // 2-5 letters used in the run's topology name
	title text
	intro text
	steps []step
	outro text // said after the last step (e.g. the comparison table)
}

// Title is the lesson's one-line title in lang.
func (l *Lesson) Title(lang string) string { return l.title.in(lang) }

// Intro is what the lesson shows, in lang.
func (l *Lesson) Intro(lang string) string { return l.intro.in(lang) }

// StepTitles lists the titles of the lesson's steps in lang.
func (l *Lesson) StepTitles(lang string) []string {
	var out []string
	for _, s := range l.steps {
		out = append(out, s.title.in(lang))
	}
	return out
}

// File is the lesson's topology file inside Topologies.
func (l *Lesson) File() string { return "topologies/" + l.Name + ".yaml" }

// YAML returns the lesson's topology file.
func (l *Lesson) YAML() []byte {
	b, err := Topologies.ReadFile(l.File())
	if err != nil {
		panic(fmt.Sprintf("lessons: %s has no topology file: %v", l.Name, err))
	}
	return b
}

// step is one change-then-traffic unit of a lesson.
type step struct {
	title   text
	say     text      // narration before the step runs
	changes []change  // applied in order before the traffic
	pause   pause     // an idle wait before the traffic
	probes  []probe   // traffic, each with AWS's expected outcome
	checks  []checker // further checks (ranges, flow-log queries)
	after   text      // the conclusion, said after the result
}

// pause is an idle period inside a step (connection tracking lessons).
type pause struct {
	seconds int
	why     text
}

// change is one rule change and its AWS CLI equivalent.
type change struct {
	what  text
	aws   []string
	apply func(t *vpc.Topology) error
	// anew: when the running topology cannot make the change live
	// (lab.ErrNotLive), the step brings it down and up again with its
	// changes made. Routing changes only: a rule change that cannot be
	// made live is a bug the lesson must show.
	anew bool
}

// checker runs a check that is not a plain probe and returns its outcome.
type checker func(e *env) []Check

var registry = []*Lesson{
	sgStateful(),
	naclOrder(),
	naclEphemeral(),
	ephemeralRanges(),
	flowlogAudit(),
	naclBlockIP(),
	sgVsNACL(),
	trafficMirroring(),
	natGateway(),
	peeringNotTransitive(),
}

// All returns every lesson in teaching order.
func All() []*Lesson { return slices.Clone(registry) }

// Names lists the lessons' names in teaching order.
func Names() []string {
	var out []string
	for _, l := range registry {
		out = append(out, l.Name)
	}
	return out
}

// Find returns the lesson called name.
func Find(name string) (*Lesson, error) {
	for _, l := range registry {
		if l.Name == name {
			return l, nil
		}
	}
	names := Names()
	sort.Strings(names)
	return nil, fmt.Errorf("no lesson %q; valid: %s", name, strings.Join(names, ", "))
}

// TopologyAfter returns t with the changes of the lesson's first n steps
// applied, as a run applies them (t itself is not modified): the rules the
// lesson's traffic meets from step n on.
func (l *Lesson) TopologyAfter(t *vpc.Topology, n int) (*vpc.Topology, error) {
	for i := 0; i < n && i < len(l.steps); i++ {
		for _, c := range l.steps[i].changes {
			nt := clone(t)
			if err := c.apply(nt); err != nil {
				return nil, fmt.Errorf("step %d, change %q: %w", i+1, c.what.en, err)
			}
			sortNACLs(nt)
			t = nt
		}
	}
	return t, nil
}
