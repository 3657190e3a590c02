package main

import (
	"bytes"
	"strings"
	"testing"
)

// runLessonCmd runs `vpcemu lesson ARGS` in-process and returns its output and error.
func runLessonCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	c := newLessonCmd(&globalOptions{})
	var out bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&out)
	c.SetIn(strings.NewReader(""))
	c.SetArgs(args)
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.Execute()
	return out.String(), err
}

func TestLessonList(t *testing.T) {
	out, err := runLessonCmd(t, "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"sg-stateful", "nacl-order", "nacl-ephemeral", "ephemeral-ranges", "flowlog-audit", "nacl-block-ip", "sg-vs-nacl"} {
		if !strings.Contains(out, n) {
			t.Errorf("lesson list lacks %s:\n%s", n, out)
		}
	}
	out, err = runLessonCmd(t, "list", "--lang", "ko")
	if err != nil || !strings.Contains(out, "보안 그룹") {
		t.Errorf("lesson list --lang ko: %v\n%s", err, out)
	}
}

func TestLessonRunRefusesBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "sg-stateful"},
		{[]string{"run", "nacl-order", "--all"}, "not both"},
		{[]string{"run", "nope"}, `no lesson "nope"`},
		{[]string{"run", "nacl-order", "-o", "yaml"}, "text, json"},
		{[]string{"run", "nacl-order", "--lang", "fr"}, "en, ko"},
		{[]string{"run", "--all", "-f", "x.yaml"}, "-f needs one lesson"},
		{[]string{"list", "--lang", "fr"}, "en, ko"},
	} {
		_, err := runLessonCmd(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("lesson %v: error %v, want one saying %q", tc.args, err, tc.want)
		}
	}
}
