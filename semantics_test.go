package vpcemu_test

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// semanticsDoc is the project's own statement of what it does for each
// spec statement id that code and tests cite.
const semanticsDoc = "docs/semantics.md"

// idPrefixes are the statement-id prefixes of the specs (semantics,
// routing, EC2 API); longer ones first so "API-TV-3" is not read as "API".
var idPrefixes = []string{
	"API-TV", "API-OQ", "API", "IMP",
	"SG", "NACL", "PATH", "FL", "TM", "RA", "NAA", "TV", "OQ",
	"RT", "EIP", "NGW", "PCX", "ENI", "VPCE", "TGW",
}

var (
	// citeRe finds a cited id such as SG-23, TV-25a or API-TV-3.
	citeRe = regexp.MustCompile(`\b(` + strings.Join(idPrefixes, "|") + `)-(\d+)[a-z]?\b`)
	// testIDRe reads the ids a test's name starts with: TestSG3_SG4_Union...
	testIDRe = regexp.MustCompile(`^(` + strings.Join(idPrefixes, "|") + `)(\d+)_`)
	testFunc = regexp.MustCompile(`^func (Test\w+)\(`)
	// In the document: a section heading, a row defining an id, a test name
	// and a repository path in backticks.
	docSection = regexp.MustCompile(`^## ([A-Z-]+) — `)
	docRow     = regexp.MustCompile(`^\| ((?:` + strings.Join(idPrefixes, "|") + `)-\d+) \|`)
	docTest    = regexp.MustCompile("`(Test\\w+)(?:/[^`]*)?`")
	docPath    = regexp.MustCompile("`((?:[a-z0-9_.-]+/)+[a-z0-9_.-]+\\.(?:go|c|h|sh|md|yaml))`")
)

// normID writes an id the way the document does: test vectors with two
// digits (the spec's TV-01), a sub-case letter dropped (TV-25a is TV-25).
func normID(prefix, num string) string {
	n, _ := strconv.Atoi(num)
	if prefix == "TV" || prefix == "API-TV" {
		return fmt.Sprintf("%s-%02d", prefix, n)
	}
	return fmt.Sprintf("%s-%d", prefix, n)
}

// citation is where an id is cited.
type citation struct {
	file string
	line int
}

// citedIDs walks the repository's text files and returns every cited id
// with its first citation, and the names of every Test function. This file
// is left out: its examples are not citations.
func citedIDs(t *testing.T) (map[string]citation, map[string]bool) {
	t.Helper()
	cited := map[string]citation{}
	tests := map[string]bool{}
	note := func(id, file string, line int) {
		if _, ok := cited[id]; !ok {
			cited[id] = citation{file, line}
		}
	}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch path {
			case ".git", "bin", "bpf/include":
				return filepath.SkipDir
			}
			if strings.HasPrefix(d.Name(), ".") && path != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if path == semanticsDoc || strings.HasSuffix(path, "_bpfel.go") || !citingFile(path) {
			return nil
		}
		self := path == "semantics_test.go"
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			for _, m := range citeRe.FindAllStringSubmatch(line, -1) {
				if !self {
					note(normID(m[1], m[2]), path, n)
				}
			}
			if !strings.HasSuffix(path, "_test.go") {
				continue
			}
			if m := testFunc.FindStringSubmatch(line); m != nil {
				tests[m[1]] = true
				rest := strings.TrimPrefix(m[1], "Test")
				for {
					id := testIDRe.FindStringSubmatch(rest)
					if id == nil {
						break
					}
					note(normID(id[1], id[2]), path, n)
					rest = rest[len(id[0]):]
				}
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatalf("walk the repository: %v", err)
	}
	return cited, tests
}

func citingFile(path string) bool {
	switch filepath.Ext(path) {
	case ".go", ".c", ".h", ".sh", ".md", ".yaml", ".yml":
		return true
	}
	return filepath.Base(path) == "Makefile"
}

// semanticsRows reads the document: the ids its rows define (each under
// the section of its own prefix), the tests and paths it names.
func semanticsRows(t *testing.T) (ids map[string]int, tests, paths map[string]int) {
	t.Helper()
	data, err := os.ReadFile(semanticsDoc)
	if err != nil {
		t.Fatalf("read %s: %v", semanticsDoc, err)
	}
	ids, tests, paths = map[string]int{}, map[string]int{}, map[string]int{}
	section := ""
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		if m := docSection.FindStringSubmatch(line); m != nil {
			section = m[1]
		}
		if m := docRow.FindStringSubmatch(line); m != nil {
			id := m[1]
			if prefix := id[:strings.LastIndex(id, "-")]; prefix != section {
				t.Errorf("%s:%d: %s sits in section %q; put it under \"## %s — ...\"", semanticsDoc, n, id, section, prefix)
			}
			if first, dup := ids[id]; dup {
				t.Errorf("%s:%d: %s has a row already at line %d", semanticsDoc, n, id, first)
			}
			ids[id] = n
		}
		for _, m := range docTest.FindAllStringSubmatch(line, -1) {
			if _, ok := tests[m[1]]; !ok {
				tests[m[1]] = n
			}
		}
		for _, m := range docPath.FindAllStringSubmatch(line, -1) {
			if _, ok := paths[m[1]]; !ok {
				paths[m[1]] = n
			}
		}
	}
	return ids, tests, paths
}

// Every statement id the code, comments or tests cite has a row in
// docs/semantics.md saying what vpcemu does for it, and every test and file
// the document names exists.
func TestSemanticsDocCoversCitedIDs(t *testing.T) {
	cited, tests := citedIDs(t)
	ids, docTests, docPaths := semanticsRows(t)
	if len(cited) == 0 || len(ids) == 0 {
		t.Fatalf("found %d cited ids and %d documented ones: the scan is broken", len(cited), len(ids))
	}
	var missing []string
	for id, c := range cited {
		if _, ok := ids[id]; !ok {
			missing = append(missing, fmt.Sprintf("%s (cited at %s:%d)", id, c.file, c.line))
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s has no row in %s: add one (what vpcemu does, code, tests) under its prefix's section", m, semanticsDoc)
	}
	for _, name := range sortedKeys(docTests) {
		if !tests[name] {
			t.Errorf("%s:%d names %s, which no _test.go file defines", semanticsDoc, docTests[name], name)
		}
	}
	for _, p := range sortedKeys(docPaths) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s:%d names %s: %v", semanticsDoc, docPaths[p], p, err)
		}
	}
}

// The scan recognises the citation forms in use, and nothing that merely
// looks alike (licence names, TCP states).
func TestSemanticsCitationForms(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"SG-23/24 and NACL-12..14", []string{"SG-23", "NACL-12"}},
		{"TV-25a, TV-1 and API-TV-3", []string{"TV-25", "TV-01", "API-TV-03"}},
		{"GPL-2.0, FIN-WAIT-2, CERT-1, sg-23", nil},
	} {
		var got []string
		for _, m := range citeRe.FindAllStringSubmatch(tc.text, -1) {
			got = append(got, normID(m[1], m[2]))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: cites %v, want %v", tc.text, got, tc.want)
		}
	}
	var got []string
	rest := "SG3_SG4_UnionOfAllAttachedGroups"
	for m := testIDRe.FindStringSubmatch(rest); m != nil; m = testIDRe.FindStringSubmatch(rest) {
		got = append(got, normID(m[1], m[2]))
		rest = rest[len(m[0]):]
	}
	if want := []string{"SG-3", "SG-4"}; !slices.Equal(got, want) {
		t.Errorf("TestSG3_SG4_...: cites %v, want %v", got, want)
	}
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
