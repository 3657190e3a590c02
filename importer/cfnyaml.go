package importer

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A CloudFormation template as plain values: map[string]any (keys in
// template order in cfnMap), []any, string, bool, int64/float64, nil.
// YAML short forms become their long forms: !Ref X is {Ref: X}, !GetAtt
// A.B is {Fn::GetAtt: [A, B]}, !Sub … is {Fn::Sub: …}.

// cfnMap keeps a mapping's keys in template order and where each value is.
type cfnMap struct {
	keys  []string
	vals  map[string]any
	lines map[string]int
}

func (m *cfnMap) get(k string) (any, bool) {
	if m == nil {
		return nil, false
	}
	v, ok := m.vals[k]
	return v, ok
}

var reYAMLErrLine = regexp.MustCompile(`^yaml: line (\d+): `)

// decodeCFN parses a template, YAML or JSON (a JSON document is YAML).
func decodeCFN(f File) (*cfnMap, *Error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(f.Data, &doc); err != nil {
		e := &Error{Source: Source{File: f.Name}}
		msg := err.Error()
		if m := reYAMLErrLine.FindStringSubmatch(msg); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			msg = msg[len(m[0]):]
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		if lines := bytes.Count(bytes.TrimRight(f.Data, "\n"), []byte("\n")) + 1; e.Line >= lines-3 && strings.Contains(msg, "expected") || strings.Contains(msg, "end of stream") {
			msg += " (truncated?)"
		}
		e.Msg = "invalid template (YAML/JSON): " + msg
		return nil, e
	}
	if len(doc.Content) == 0 {
		return nil, &Error{Source: Source{File: f.Name}, Msg: "the template is empty; valid: a mapping with Resources"}
	}
	budget := maxTemplateValues
	v, err := cfnValue(doc.Content[0], 0, &budget)
	if err != nil {
		return nil, &Error{Source: Source{File: f.Name}, Line: err.line, Msg: err.msg}
	}
	top, ok := v.(*cfnMap)
	if !ok {
		return nil, &Error{Source: Source{File: f.Name}, Line: doc.Content[0].Line, Msg: "the template is not a mapping; valid: a mapping with Resources"}
	}
	return top, nil
}

type yamlErr struct {
	line int
	msg  string
}

// cfnShortForms are the YAML tags of CloudFormation's short forms.
var cfnShortForms = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Join": "Fn::Join", "!Select": "Fn::Select",
	"!Split": "Fn::Split", "!GetAZs": "Fn::GetAZs", "!Cidr": "Fn::Cidr", "!FindInMap": "Fn::FindInMap", "!If": "Fn::If",
	"!Equals": "Fn::Equals", "!And": "Fn::And", "!Or": "Fn::Or", "!Not": "Fn::Not", "!ImportValue": "Fn::ImportValue",
	"!Base64": "Fn::Base64", "!Transform": "Fn::Transform", "!Length": "Fn::Length", "!ToJsonString": "Fn::ToJsonString",
}

// maxTemplateValues bounds the values a template may expand to, so that
// YAML aliases cannot make it exponentially large.
const maxTemplateValues = 1_000_000

func cfnValue(n *yaml.Node, depth int, budget *int) (any, *yamlErr) {
	if depth > 200 {
		return nil, &yamlErr{n.Line, "the template nests too deeply"}
	}
	if *budget--; *budget < 0 {
		return nil, &yamlErr{n.Line, fmt.Sprintf("the template expands to more than %d values (YAML aliases?)", maxTemplateValues)}
	}
	if n.Kind == yaml.AliasNode {
		return cfnValue(n.Alias, depth+1, budget)
	}
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := &cfnMap{vals: map[string]any{}, lines: map[string]int{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, &yamlErr{k.Line, "a mapping key is not a string"}
			}
			val, err := cfnValue(n.Content[i+1], depth+1, budget)
			if err != nil {
				return nil, err
			}
			if _, dup := m.vals[k.Value]; dup {
				return nil, &yamlErr{k.Line, fmt.Sprintf("key %q appears twice", k.Value)}
			}
			m.keys = append(m.keys, k.Value)
			m.vals[k.Value] = val
			m.lines[k.Value] = k.Line
		}
		v = m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := cfnValue(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.ScalarNode:
		v = cfnScalar(n)
	}
	if long, ok := cfnShortForms[n.Tag]; ok {
		if long == "Fn::GetAtt" {
			if s, isStr := v.(string); isStr {
				res, attr, found := strings.Cut(s, ".")
				if !found {
					return nil, &yamlErr{n.Line, fmt.Sprintf("!GetAtt %s: valid: !GetAtt LogicalId.Attribute", s)}
				}
				v = []any{res, attr}
			}
		}
		m := &cfnMap{keys: []string{long}, vals: map[string]any{long: v}, lines: map[string]int{long: n.Line}}
		return m, nil
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return nil, &yamlErr{n.Line, fmt.Sprintf("unknown tag %s; valid: a CloudFormation short form (!Ref, !GetAtt, !Sub, !Join, !Select, !Split, !GetAZs, !Cidr, !FindInMap, !If, !Equals, !And, !Or, !Not, !Condition, !ImportValue, !Base64)", n.Tag)}
	}
	return v, nil
}

func cfnScalar(n *yaml.Node) any {
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err == nil {
			return b
		}
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return i
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	}
	return n.Value
}

// looksLikeCFNYAML reports whether data is a YAML mapping with a top-level
// Resources or AWSTemplateFormatVersion key.
func looksLikeCFNYAML(data []byte) bool {
	for _, line := range bytes.Split(data, []byte("\n")) {
		l := string(line)
		if strings.HasPrefix(l, "Resources:") || strings.HasPrefix(l, "AWSTemplateFormatVersion:") {
			return true
		}
	}
	return false
}
