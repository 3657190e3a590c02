package flowlog

import (
	"strings"
	"testing"
)

func TestParseFormatDefault(t *testing.T) {
	for _, s := range []string{"", "default"} {
		f, err := ParseFormat(s)
		if err != nil {
			t.Fatalf("ParseFormat(%q): %v", s, err)
		}
		const want = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
		if got := f.Header(); got != want {
			t.Errorf("ParseFormat(%q).Header() = %q, want %q", s, got, want)
		}
		if v := f.Version(); v != 2 {
			t.Errorf("ParseFormat(%q).Version() = %d, want 2", s, v)
		}
		if len(f.Fields()) != 14 {
			t.Errorf("default format has %d fields, want 14", len(f.Fields()))
		}
	}
}

// TV-33 versions, and FL-12's examples.
func TestFormatVersion(t *testing.T) {
	b := "${version} ${vpc-id} ${flow-direction} ${traffic-path}"
	tests := []struct {
		name, format string
		want         int
	}{
		{"TV-33 (a) default", "default", 2},
		{"TV-33 (b) a v5 field", b, 5},
		{"TV-33 (c) an ECS field", b + " ${ecs-task-id}", 7},
		{"TV-33 (d) reject-reason", b + " ${reject-reason}", 8},
		{"only v2 fields in a custom order", "${log-status} ${version} ${srcaddr}", 2},
		{"v2, v3 and v4 fields", "${version} ${tcp-flags} ${az-id} ${srcaddr}", 4},
		{"v3 only", "${pkt-dstaddr}", 3},
	}
	for _, tt := range tests {
		f, err := ParseFormat(tt.format)
		if err != nil {
			t.Fatalf("%s: ParseFormat: %v", tt.name, err)
		}
		if got := f.Version(); got != tt.want {
			t.Errorf("%s: Version() = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestParseFormatErrors(t *testing.T) {
	tests := []struct {
		format  string
		mention []string
	}{
		{"${version} ${bogus}", []string{`"bogus"`, "valid fields", "reject-reason", "ecs-task-id", "pkt-srcaddr"}},
		{"${srcaddr} ${dstaddr} ${srcaddr}", []string{`"srcaddr"`, "more than once"}},
		{"${version}  ${srcaddr}", []string{"single spaces"}},
		{" ${version}", []string{"single spaces"}},
		{"${version} ", []string{"single spaces"}},
		{"version srcaddr", []string{`"version"`, "${field}"}},
		{"${}", []string{"${field}"}},
		{"${version}${srcaddr}", []string{"unknown field"}},
		{"${encryption-status}", []string{"unknown field"}},
		{"${Version}", []string{"unknown field"}},
	}
	for _, tt := range tests {
		_, err := ParseFormat(tt.format)
		if err == nil {
			t.Errorf("ParseFormat(%q) succeeded, want an error", tt.format)
			continue
		}
		for _, m := range tt.mention {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("ParseFormat(%q) error %q does not mention %q", tt.format, err, m)
			}
		}
	}
}

// Every field of the FL-14 table parses, alone, with its version and type.
func TestCatalogue(t *testing.T) {
	want := map[string]struct {
		v int
		p string
	}{
		"version": {2, "INT_32"}, "account-id": {2, "STRING"}, "interface-id": {2, "STRING"},
		"srcaddr": {2, "STRING"}, "dstaddr": {2, "STRING"}, "srcport": {2, "INT_32"}, "dstport": {2, "INT_32"},
		"protocol": {2, "INT_32"}, "packets": {2, "INT_64"}, "bytes": {2, "INT_64"}, "start": {2, "INT_64"},
		"end": {2, "INT_64"}, "action": {2, "STRING"}, "log-status": {2, "STRING"},
		"vpc-id": {3, "STRING"}, "subnet-id": {3, "STRING"}, "instance-id": {3, "STRING"}, "tcp-flags": {3, "INT_32"},
		"type": {3, "STRING"}, "pkt-srcaddr": {3, "STRING"}, "pkt-dstaddr": {3, "STRING"},
		"region": {4, "STRING"}, "az-id": {4, "STRING"}, "sublocation-type": {4, "STRING"}, "sublocation-id": {4, "STRING"},
		"pkt-src-aws-service": {5, "STRING"}, "pkt-dst-aws-service": {5, "STRING"}, "flow-direction": {5, "STRING"},
		"traffic-path":    {5, "INT_32"},
		"ecs-cluster-arn": {7, "STRING"}, "ecs-cluster-name": {7, "STRING"}, "ecs-container-instance-arn": {7, "STRING"},
		"ecs-container-instance-id": {7, "STRING"}, "ecs-container-id": {7, "STRING"}, "ecs-second-container-id": {7, "STRING"},
		"ecs-service-name": {7, "STRING"}, "ecs-task-definition-arn": {7, "STRING"}, "ecs-task-arn": {7, "STRING"},
		"ecs-task-id": {7, "STRING"}, "reject-reason": {8, "STRING"},
	}
	if got := len(Fields()); got != len(want) {
		t.Errorf("catalogue has %d fields, want %d", got, len(want))
	}
	for name, w := range want {
		f, err := ParseFormat("${" + name + "}")
		if err != nil {
			t.Errorf("field %s: %v", name, err)
			continue
		}
		fd := f.Fields()[0]
		if fd.Version != w.v || fd.Parquet.String() != w.p {
			t.Errorf("field %s: version %d type %s, want %d %s", name, fd.Version, fd.Parquet, w.v, w.p)
		}
		if wantV := max(2, w.v); f.Version() != wantV {
			t.Errorf("format ${%s}: version %d, want %d", name, f.Version(), wantV)
		}
	}
	if c := (Field{Name: "log-status"}).Column(); c != "log_status" {
		t.Errorf("Column() = %q, want log_status", c)
	}
}

func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{
		"", "default", DefaultFormatString,
		"${version} ${vpc-id} ${flow-direction} ${traffic-path}",
		"${version} ${vpc-id} ${flow-direction} ${traffic-path} ${ecs-task-id}",
		"${reject-reason}", "${a} ${b}", "${version}  ${srcaddr}", "${", "}", "$", "${version} ${version}",
		"${srcaddr}\t${dstaddr}", "${end} ${start}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := ParseFormat(s)
		if err != nil {
			return
		}
		h := fm.Header()
		names := strings.Split(h, " ")
		if len(names) != len(fm.Fields()) {
			t.Fatalf("header %q has %d names for %d fields", h, len(names), len(fm.Fields()))
		}
		if s != "" && s != "default" {
			want := strings.ReplaceAll(strings.ReplaceAll(s, "${", ""), "}", "")
			if h != want {
				t.Fatalf("ParseFormat(%q).Header() = %q, want %q", s, h, want)
			}
		}
		again, err := ParseFormat(fm.String())
		if err != nil {
			t.Fatalf("ParseFormat(String() = %q): %v", fm.String(), err)
		}
		if again.Header() != h || again.Version() != fm.Version() {
			t.Fatalf("round trip of %q changed it: %q v%d", s, again.Header(), again.Version())
		}
		// A line of a NODATA record has one value per field.
		line := fm.Line(Record{Status: StatusNoData, ENI: ENIInfo{ENI: "eni-x", Account: "123456789012"}})
		if got := len(strings.Split(line, " ")); got != len(names) {
			t.Fatalf("line %q has %d values for %d fields", line, got, len(names))
		}
	})
}
