package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

// Kind is an input format.
type Kind string

// The input formats.
const (
	KindAWS            Kind = "aws"            // describe-* JSON, a Batfish aws_configs/ snapshot
	KindTerraform      Kind = "terraform"      // terraform show -json of a plan or a state
	KindCloudFormation Kind = "cloudformation" // a template, YAML or JSON
)

// Kinds lists the formats, for messages.
var Kinds = []Kind{KindAWS, KindTerraform, KindCloudFormation}

// File is one input.
type File struct {
	Name string // path as the user gave it, for messages and comments
	Data []byte
	// Region and Account come from a Batfish-style folder
	// (aws_configs/REGION/…, aws_configs/ACCOUNT/REGION/…); "" otherwise.
	Region  string
	Account string
}

// Options steer an import.
type Options struct {
	From    Kind   // "" detects the format of each file
	Name    string // topology name; DefaultName when ""
	Region  string // the region to import when the input has several; CloudFormation's AWS::Region
	Account string // CloudFormation's AWS::AccountId when the template says nothing else
	// VPCs keeps only these VPCs and what belongs to them (--vpc).
	VPCs []string
	// Parameters are CloudFormation parameter values (--parameter K=V);
	// Exports are the values Fn::ImportValue reads (--import-value K=V).
	Parameters map[string]string
	Exports    map[string]string
	StackName  string // CloudFormation's AWS::StackName; the template's file name when ""
	Strict     bool   // anything not modeled is an error
	Services   bool   // --services auto
	Internet   bool   // --internet auto
}

// DefaultName is the topology name of an import that names none.
const DefaultName = "imported"

// Result is an imported topology.
type Result struct {
	Topology *vpc.Topology
	YAML     []byte // the topology file: a comment above each object names its source
	Warnings []Warning
	// Notes say what the import decided that a reader should know: limits
	// raised, addresses remapped for --internet auto, listeners chosen by
	// --services auto.
	Notes []string
}

// Source is where an object came from.
type Source struct {
	File string
	// Path is the JSON path ($.SecurityGroups[3]), the Terraform address
	// (module.net.aws_subnet.a[0]) or the CloudFormation logical id
	// (Resources.PublicSubnet).
	Path string
	What string // e.g. the resource type, "" when the path says it
	Line int    // 1-based line in File, 0 when unknown
}

func (s Source) String() string {
	var b strings.Builder
	b.WriteString(s.File)
	if s.Line > 0 {
		fmt.Fprintf(&b, ":%d", s.Line)
	}
	if s.Path != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(s.Path)
	}
	if s.What != "" {
		fmt.Fprintf(&b, " (%s)", s.What)
	}
	return b.String()
}

// Warning is something an import could not carry over as it is, or had to
// make up.
type Warning struct {
	Source Source
	// NotModeled marks what vpcemu does not emulate (a resource type, a
	// route target, a cross-account peer…): --strict makes these errors.
	// Other warnings say what was made up (placeholder ids, addresses).
	NotModeled bool
	Msg        string
}

func (w Warning) String() string {
	if w.NotModeled {
		return fmt.Sprintf("WARN resource %s not modeled: %s", w.Source, w.Msg)
	}
	return fmt.Sprintf("WARN %s: %s", w.Source, w.Msg)
}

// Error is a mistake in an input, with where it is.
type Error struct {
	Source Source
	Line   int // 1-based line in Source.File when known
	Msg    string
}

func (e *Error) Error() string {
	loc := e.Source.File
	line := e.Line
	if line == 0 {
		line = e.Source.Line
	}
	if line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, line)
	}
	var parts []string
	if loc != "" {
		parts = append(parts, loc)
	}
	if e.Source.Path != "" {
		p := e.Source.Path
		if e.Source.What != "" {
			p += " (" + e.Source.What + ")"
		}
		parts = append(parts, p)
	}
	parts = append(parts, e.Msg)
	return strings.Join(parts, ": ")
}

// ErrorList is every mistake found, one per line.
type ErrorList []*Error

func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap exposes the individual errors.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Import builds one topology from the files, which must all be of one
// format. Nothing is returned but the error when an input is bad or, with
// Strict, when something is not modeled.
func Import(files []File, o Options) (*Result, error) {
	if len(files) == 0 {
		return nil, errors.New("import: no input; valid: AWS describe JSON files or an aws_configs/ folder, a terraform show -json file, or a CloudFormation template")
	}
	kind := o.From
	if kind == "" {
		var err error
		if kind, err = detectAll(files); err != nil {
			return nil, err
		}
	}
	b := newBuilder(o)
	switch kind {
	case KindAWS:
		importAWS(b, files)
	case KindTerraform:
		for _, f := range files {
			importTerraform(b, f, len(files) > 1)
		}
	case KindCloudFormation:
		for _, f := range files {
			importCFN(b, f, len(files) > 1)
		}
	default:
		return nil, fmt.Errorf("import: unknown format %q; valid: %s", kind, kindList())
	}
	return b.finish(kind, files)
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// detectAll detects each file's format; they must agree.
func detectAll(files []File) (Kind, error) {
	byKind := map[Kind][]string{}
	for _, f := range files {
		k, err := Detect(f)
		if err != nil {
			return "", err
		}
		byKind[k] = append(byKind[k], f.Name)
	}
	if len(byKind) == 1 {
		for k := range byKind {
			return k, nil
		}
	}
	var parts []string
	for k, names := range byKind {
		parts = append(parts, fmt.Sprintf("%s (%s)", k, strings.Join(names, ", ")))
	}
	sort.Strings(parts)
	return "", fmt.Errorf("import: the inputs are of different formats: %s; valid: files of one format per import", strings.Join(parts, "; "))
}

// Detect tells the format of one file from its content: Terraform's JSON
// has format_version and values or planned_values, a CloudFormation
// template has Resources (or AWSTemplateFormatVersion), AWS describe JSON
// has one of the describe calls' top-level keys (IMP-3).
func Detect(f File) (Kind, error) {
	data := bytes.TrimSpace(f.Data)
	if len(data) == 0 {
		return "", &Error{Source: Source{File: f.Name}, Msg: "the file is empty; valid: AWS describe JSON, terraform show -json output or a CloudFormation template"}
	}
	if data[0] == '{' {
		var top map[string]json.RawMessage
		if k, ok := firstKey(data); ok {
			return k, nil
		}
		if err := json.Unmarshal(data, &top); err != nil {
			return "", jsonError(f, err, "")
		}
		_, tfValues := top["values"]
		_, tfPlan := top["planned_values"]
		_, tfChanges := top["resource_changes"]
		_, tfFormat := top["format_version"]
		switch {
		case tfFormat && (tfValues || tfPlan || tfChanges || top["terraform_version"] != nil):
			return KindTerraform, nil
		case top["Resources"] != nil || top["AWSTemplateFormatVersion"] != nil:
			return KindCloudFormation, nil
		}
		for _, k := range awsTopKeys {
			if _, ok := top[k]; ok {
				return KindAWS, nil
			}
		}
		// Other describe calls' output (VpnGateways, TransitGateways, …):
		// AWS JSON whose lists are reported as not modeled.
		camel := len(top) > 0
		for k := range top {
			camel = camel && reCamel.MatchString(k)
		}
		if camel {
			return KindAWS, nil
		}
		var keys []string
		for k := range top {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return "", &Error{Source: Source{File: f.Name}, Msg: fmt.Sprintf("cannot tell the format from the top-level keys %s; valid: describe JSON (%s), terraform show -json (format_version, values or planned_values), a CloudFormation template (Resources), or --from %s",
			strings.Join(keys, ", "), strings.Join(awsTopKeys, ", "), kindList())}
	}
	if looksLikeCFNYAML(data) {
		return KindCloudFormation, nil
	}
	return "", &Error{Source: Source{File: f.Name}, Msg: "not JSON and not a CloudFormation YAML template (no Resources key); valid: AWS describe JSON, terraform show -json output or a CloudFormation template, or --from " + kindList()}
}

// firstKey tells the format from the first key of a JSON object when that
// key decides it, without reading the rest (snapshots run to megabytes).
func firstKey(data []byte) (Kind, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	tok, err := dec.Token()
	k, _ := tok.(string)
	switch {
	case err != nil:
		return "", false
	case slices.Contains(awsTopKeys, k):
		return KindAWS, true
	case k == "AWSTemplateFormatVersion" || k == "Resources":
		return KindCloudFormation, true
	}
	return "", false
}

var reCamel = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)

// jsonError turns a decoding error into an Error with the line it is on;
// key is the top-level key whose value was being decoded ("" for all).
func jsonError(f File, err error, key string) *Error {
	e := &Error{Source: Source{File: f.Name}}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn) && strings.HasPrefix(syn.Error(), "unexpected end"),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		e.Line = lineOf(f.Data, int64(len(f.Data)))
		e.Msg = "invalid JSON: the file ends early (truncated?)"
	case errors.As(err, &syn):
		e.Line = lineOf(f.Data, syn.Offset)
		e.Msg = "invalid JSON: " + syn.Error()
	case errors.As(err, &typ):
		e.Line = lineOf(f.Data, typ.Offset)
		if p := strings.Trim(key+"."+typ.Field, "."); p != "" {
			e.Source.Path = "$." + p
		}
		e.Msg = fmt.Sprintf("a JSON %s where %s is expected", typ.Value, jsonTypeName(typ.Type.Kind().String()))
	default:
		e.Msg = "invalid JSON: " + err.Error()
	}
	return e
}

func jsonTypeName(k string) string {
	switch k {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "a list"
	case "ptr":
		return "a value"
	}
	return "a " + k
}

// lineOf is the 1-based line of byte offset off in data.
func lineOf(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}
