package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Terraform's `terraform show -json` (IMP-6..8), read as plain JSON values:
// the attributes of each resource type are the provider's, not a schema
// of Terraform's.

// tfResource is one resource instance of a plan's planned values or a state.
type tfResource struct {
	Address string
	Module  string // "" for the root module, else e.g. module.net or module.net[0].module.sub
	Mode    string // managed or data
	Type    string
	Name    string
	Index   any // nil, a number (count) or a string (for_each)
	Values  map[string]any
	// Unknown is the change's after_unknown: true (or lists and objects
	// holding true) where a value is known only after apply.
	Unknown map[string]any
	Path    string // JSON path of the entry, for messages
	// Placeholders made for this resource, reported once.
	placeholders []string
}

// configAddress is the resource's address in the configuration: without
// instance keys, relative to its module.
func (r *tfResource) configAddress() string {
	if r.Mode == "data" {
		return "data." + r.Type + "." + r.Name
	}
	return r.Type + "." + r.Name
}

// tfModuleConfig is one module of the configuration.
type tfModuleConfig struct {
	resources map[string]map[string]any // config address → expressions
	calls     map[string]*tfModuleCall
	outputs   map[string]map[string]any // output name → expression
	parent    *tfModuleConfig
	callName  string // the call that made this module in its parent
	path      string // module path without keys ("" for the root)
}

type tfModuleCall struct {
	expressions map[string]any
	module      *tfModuleConfig
}

// tfPlan is a decoded show -json document.
type tfPlan struct {
	file      File
	plan      bool
	resources []*tfResource
	byAddr    map[string]*tfResource
	// byConfig groups instances by module (without keys) and config address.
	byConfig map[string][]*tfResource
	config   *tfModuleConfig
	modules  map[string]*tfModuleConfig // module path without keys → config
	region   string                     // the aws provider's region, when the configuration states it
}

var reFormatVersion = regexp.MustCompile(`^(\d+)\.(\d+)$`)

// decodeTerraform reads a show -json document into resources, with the
// plan's unknowns and the configuration's references.
func decodeTerraform(f File) (*tfPlan, *Error) {
	dec := json.NewDecoder(bytes.NewReader(f.Data))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		return nil, jsonError(f, err, "")
	}
	src := Source{File: f.Name}
	fv, _ := top["format_version"].(string)
	m := reFormatVersion.FindStringSubmatch(fv)
	if m == nil {
		return nil, &Error{Source: Source{File: f.Name, Path: "$.format_version"}, Msg: fmt.Sprintf("%q is not a Terraform JSON format version; valid: 1.x (the output of terraform show -json)", fv)}
	}
	if m[1] != "1" {
		return nil, &Error{Source: Source{File: f.Name, Path: "$.format_version"}, Msg: fmt.Sprintf("format version %s is not supported; valid: major version 1 (Terraform promises compatible changes within it)", fv)}
	}
	p := &tfPlan{file: f, byAddr: map[string]*tfResource{}, byConfig: map[string][]*tfResource{}, modules: map[string]*tfModuleConfig{}}
	var root any
	switch {
	case top["planned_values"] != nil || top["resource_changes"] != nil:
		p.plan = true
		root = dig(top, "planned_values", "root_module")
		if err := p.walkModule(root, "$.planned_values.root_module", ""); err != nil {
			return nil, err
		}
		// Data sources read during the plan live in the prior state.
		if prior := dig(top, "prior_state", "values", "root_module"); prior != nil {
			if err := p.walkModule(prior, "$.prior_state.values.root_module", "data"); err != nil {
				return nil, err
			}
		}
		changes, _ := top["resource_changes"].([]any)
		for i, c := range changes {
			path := fmt.Sprintf("$.resource_changes[%d]", i)
			cm, ok := c.(map[string]any)
			if !ok {
				return nil, &Error{Source: Source{File: f.Name, Path: path}, Msg: "not an object; valid: a resource change {address, type, change}"}
			}
			addr, _ := cm["address"].(string)
			ch, _ := cm["change"].(map[string]any)
			actions, _ := ch["actions"].([]any)
			if len(actions) == 1 && actions[0] == "delete" {
				delete(p.byAddr, addr) // planned_values leaves it out anyway
				continue
			}
			r := p.byAddr[addr]
			if r == nil && cm["mode"] == "managed" {
				// A plan without planned_values: the change's after is the value.
				after, _ := ch["after"].(map[string]any)
				r = &tfResource{Address: addr, Module: str(cm["module_address"]), Mode: "managed", Type: str(cm["type"]), Name: str(cm["name"]), Index: cm["index"], Values: after, Path: path + ".change.after"}
				p.add(r)
			}
			if r != nil {
				r.Unknown, _ = ch["after_unknown"].(map[string]any)
			}
		}
		if cfg, ok := dig(top, "configuration", "root_module").(map[string]any); ok {
			p.config = p.decodeConfig(cfg, nil, "", "")
		}
		p.region = str(dig(top, "configuration", "provider_config", "aws", "expressions", "region", "constant_value"))
	case top["values"] != nil:
		root = dig(top, "values", "root_module")
		if err := p.walkModule(root, "$.values.root_module", ""); err != nil {
			return nil, err
		}
	default:
		// An empty state (nothing applied yet) has no values.
		if _, ok := top["terraform_version"]; !ok {
			return nil, &Error{Source: src, Msg: "neither values (a state) nor planned_values/resource_changes (a plan); valid: the output of terraform show -json"}
		}
	}
	return p, nil
}

func (p *tfPlan) add(r *tfResource) {
	if _, dup := p.byAddr[r.Address]; dup {
		return
	}
	p.resources = append(p.resources, r)
	p.byAddr[r.Address] = r
	k := stripKeys(r.Module) + "|" + r.configAddress()
	p.byConfig[k] = append(p.byConfig[k], r)
}

// walkModule collects the resources of a module and its children. only
// restricts the mode ("" for all).
func (p *tfPlan) walkModule(m any, path, only string) *Error {
	if m == nil {
		return nil
	}
	mm, ok := m.(map[string]any)
	if !ok {
		return &Error{Source: Source{File: p.file.Name, Path: path}, Msg: "not an object; valid: a module {resources, child_modules}"}
	}
	module := str(mm["address"])
	list, _ := mm["resources"].([]any)
	for i, x := range list {
		rp := fmt.Sprintf("%s.resources[%d]", path, i)
		rm, ok := x.(map[string]any)
		if !ok {
			return &Error{Source: Source{File: p.file.Name, Path: rp}, Msg: "not an object; valid: a resource {address, mode, type, name, values}"}
		}
		r := &tfResource{Address: str(rm["address"]), Module: module, Mode: str(rm["mode"]), Type: str(rm["type"]), Name: str(rm["name"]), Index: rm["index"], Path: rp}
		if r.Address == "" || r.Type == "" {
			return &Error{Source: Source{File: p.file.Name, Path: rp}, Msg: "a resource without address or type; valid: {address, mode, type, name, values}"}
		}
		if only != "" && r.Mode != only {
			continue
		}
		if v, ok := rm["values"].(map[string]any); ok {
			r.Values = v
		} else if rm["values"] != nil {
			return &Error{Source: Source{File: p.file.Name, Path: rp + ".values"}, Msg: "not an object; valid: the resource's attributes"}
		}
		p.add(r)
	}
	children, _ := mm["child_modules"].([]any)
	for i, c := range children {
		if err := p.walkModule(c, fmt.Sprintf("%s.child_modules[%d]", path, i), only); err != nil {
			return err
		}
	}
	return nil
}

func (p *tfPlan) decodeConfig(m map[string]any, parent *tfModuleConfig, path, callName string) *tfModuleConfig {
	c := &tfModuleConfig{resources: map[string]map[string]any{}, calls: map[string]*tfModuleCall{}, outputs: map[string]map[string]any{}, parent: parent, callName: callName, path: path}
	p.modules[path] = c
	rs, _ := m["resources"].([]any)
	for _, x := range rs {
		rm, _ := x.(map[string]any)
		ex, _ := rm["expressions"].(map[string]any)
		c.resources[str(rm["address"])] = ex
	}
	outs, _ := m["outputs"].(map[string]any)
	for name, o := range outs {
		om, _ := o.(map[string]any)
		ex, _ := om["expression"].(map[string]any)
		c.outputs[name] = ex
	}
	calls, _ := m["module_calls"].(map[string]any)
	for name, x := range calls {
		cm, _ := x.(map[string]any)
		ex, _ := cm["expressions"].(map[string]any)
		call := &tfModuleCall{expressions: ex}
		if sub, ok := cm["module"].(map[string]any); ok {
			child := "module." + name
			if path != "" {
				child = path + "." + child
			}
			call.module = p.decodeConfig(sub, c, child, name)
		}
		c.calls[name] = call
	}
	return c
}

var reKeys = regexp.MustCompile(`\[[^\]]*\]`)

// stripKeys removes instance keys from a module address.
func stripKeys(s string) string { return reKeys.ReplaceAllString(s, "") }

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// isUnknown reports whether an after_unknown value marks anything unknown.
func isUnknown(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case []any:
		for _, e := range x {
			if isUnknown(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if isUnknown(e) {
				return true
			}
		}
	}
	return false
}

// reference is one entry of an expression's references, parsed.
type reference struct {
	kind  string // resource, data, var, module, other
	addr  string // resource: type.name; data: data.type.name; var: name; module: the call name
	key   string // instance key as written ("0", "\"a\""), "" when none
	attr  string // the attribute after it ("" when the reference is the whole object)
	other string
}

var reRef = regexp.MustCompile(`^(data\.)?([a-zA-Z_][\w-]*)\.([a-zA-Z_][\w-]*)(\[[^\]]*\])?(?:\.([a-zA-Z_][\w-]*))?`)

func parseReference(s string) reference {
	switch {
	case strings.HasPrefix(s, "var."):
		return reference{kind: "var", addr: strings.TrimPrefix(s, "var.")}
	case strings.HasPrefix(s, "module."):
		parts := strings.SplitN(strings.TrimPrefix(s, "module."), ".", 2)
		r := reference{kind: "module", addr: stripKeys(parts[0])}
		if len(parts) > 1 {
			r.attr = parts[1]
		}
		return r
	case strings.HasPrefix(s, "local."), strings.HasPrefix(s, "each."), strings.HasPrefix(s, "count."), strings.HasPrefix(s, "path."), strings.HasPrefix(s, "self."):
		return reference{kind: "other", other: s}
	}
	m := reRef.FindStringSubmatch(s)
	if m == nil {
		return reference{kind: "other", other: s}
	}
	r := reference{kind: "resource", addr: m[2] + "." + m[3], attr: m[5]}
	if m[1] != "" {
		r.kind, r.addr = "data", "data."+r.addr
	}
	if m[4] != "" {
		r.key = strings.Trim(m[4], "[]")
	}
	return r
}
