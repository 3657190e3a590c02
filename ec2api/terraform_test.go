package ec2api

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestTerraformSequences replays the Terraform AWS provider's call
// sequences (API-30..37) request by request: testdata/terraform/*.txt hold
// the forms the provider sends and the elements it reads back.
//
// Fixture syntax, one step per line:
//
//	> FORM                 a request, form-encoded as the SDK sends it;
//	                       $name is replaced by a captured value
//	< 200                  the status (and, for errors, "< 400 Code")
//	< PATH = VALUE         the one element at PATH (below the root) has VALUE
//	< PATH := name         capture the one element at PATH as $name
//	< PATH ~ REGEXP        the one element at PATH matches
//	< PATH # N             N elements at PATH
//	< ! PATH               no element at PATH
//
// Lines starting with # are comments.
func TestTerraformSequences(t *testing.T) {
	files, err := filepath.Glob("testdata/terraform/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { replay(t, file) })
	}
}

var reVar = regexp.MustCompile(`\$[a-zA-Z0-9_]+`)

func replay(t *testing.T, file string) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := newTestServer(t, Config{})
	vars := map[string]string{}
	subst := func(line string, n int) string {
		return reVar.ReplaceAllStringFunc(line, func(v string) string {
			x, ok := vars[v[1:]]
			if !ok {
				t.Fatalf("%s:%d: %s was not captured", file, n, v)
			}
			return x
		})
	}
	var (
		status int
		body   string
		root   *xnode
		req    string
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		where := file + ":" + strconv.Itoa(n)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "> "):
			req = subst(strings.TrimSpace(line[2:]), n)
			status, body = s.post(t, req)
			root = parseXML(t, body)
		case strings.HasPrefix(line, "< "):
			if root == nil {
				t.Fatalf("%s: an assertion before any request", where)
			}
			a := subst(strings.TrimSpace(line[2:]), n)
			fail := func(format string, args ...any) {
				t.Fatalf("%s: %s\nrequest: %s\nresponse (HTTP %d): %s", where, sprintf(format, args...), req, status, body)
			}
			if code, err := strconv.Atoi(strings.Fields(a)[0]); err == nil {
				fs := strings.Fields(a)
				if status != code {
					fail("HTTP %d, want %d", status, code)
				}
				if len(fs) > 1 {
					if got := root.get(t, "Errors/Error/Code"); got != fs[1] {
						fail("error code %s, want %s", got, fs[1])
					}
				}
				continue
			}
			if p, ok := strings.CutPrefix(a, "! "); ok {
				if root.has(p) {
					fail("%s is present", p)
				}
				continue
			}
			var path, op, arg string
			for _, o := range []string{" := ", " = ", " ~ ", " # "} {
				if i := strings.Index(a, o); i >= 0 {
					path, op, arg = a[:i], strings.TrimSpace(o), strings.TrimSpace(a[i+len(o):])
					break
				}
			}
			if op == "" {
				t.Fatalf("%s: cannot read assertion %q", where, a)
			}
			if op == "#" {
				want, _ := strconv.Atoi(arg)
				if got := len(root.all(path)); got != want {
					fail("%d elements at %s, want %d", got, path, want)
				}
				continue
			}
			all := root.all(path)
			if len(all) != 1 {
				fail("%d elements at %s, want 1", len(all), path)
			}
			got := strings.TrimSpace(all[0].text)
			switch op {
			case ":=":
				vars[arg] = got
			case "=":
				if want := arg; got != want {
					fail("%s = %q, want %q", path, got, want)
				}
			case "~":
				if !regexp.MustCompile(arg).MatchString(got) {
					fail("%s = %q, want a match of %s", path, got, arg)
				}
			}
		default:
			t.Fatalf("%s: cannot read %q", where, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
