package workloads

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgebench/edgebench/runners"
	"gopkg.in/yaml.v3"
)

// FieldError is one mistake in a spec file, at the line and column of the
// value (or key) it is about.
type FieldError struct {
	File         string
	Line, Column int
	Field        string // YAML path, e.g. "axes.types[1]"; "" for syntax errors
	Msg          string
}

func (e *FieldError) Error() string {
	pos := fmt.Sprintf("%s:%d", e.File, e.Line)
	if e.Column > 0 {
		pos += fmt.Sprintf(":%d", e.Column)
	}
	if e.Field == "" {
		return pos + ": " + e.Msg
	}
	return pos + ": " + e.Field + ": " + e.Msg
}

// FileErrors is every mistake found in a spec file, one per line of
// Error(), each naming the file, line and field.
type FileErrors []*FieldError

func (es FileErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads a YAML sweep spec. Model paths in it are relative to the
// file's directory; the output path is relative to the working directory,
// like -o. The spec is validated: the error (a FileErrors) lists every
// mistake with its file, line and field. Structure comes first: when the
// file has unknown fields or values of the wrong kind, those are all
// reported, and the checks of the values themselves (known types, models,
// ranges) follow once the structure is right.
func Load(path string) (Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("spec file: %w", err)
	}
	return Parse(path, data, filepath.Dir(path))
}

// Parse decodes and validates a YAML sweep spec. name is used in errors;
// relative model paths are resolved against dir.
func Parse(name string, data []byte, dir string) (Spec, error) {
	p := &parser{file: name, dir: dir, pos: map[string]*yaml.Node{}}
	s, ok := p.parse(data)
	if !ok {
		return Spec{}, p.errs
	}
	for _, pr := range s.Problems() {
		p.errAt(p.nodeFor(pr.Field), pr.Field, "%s", pr.Msg)
	}
	if len(p.errs) > 0 {
		return Spec{}, p.errs
	}
	return s, nil
}

type parser struct {
	file string
	dir  string
	errs FileErrors
	pos  map[string]*yaml.Node // field path -> node, for placing validation problems
	root *yaml.Node
}

func (p *parser) errAt(n *yaml.Node, field, format string, args ...any) {
	e := &FieldError{File: p.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	if e.Line == 0 {
		e.Line = 1
	}
	p.errs = append(p.errs, e)
}

// nodeFor finds the node of a field path, or of its nearest ancestor the
// file has (a problem with a default value points at the enclosing block).
func (p *parser) nodeFor(field string) *yaml.Node {
	for f := field; f != ""; {
		if n, ok := p.pos[f]; ok {
			return n
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return p.root
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) parse(data []byte) (Spec, bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3 reports "yaml: line N: problem"; keep the line, drop the prefix.
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 1
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		p.errs = append(p.errs, &FieldError{File: p.file, Line: line, Msg: "YAML syntax: " + msg})
		return Spec{}, false
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		p.errAt(nil, "", "empty spec: want a mapping with at least axes.models and axes.types")
		return Spec{}, false
	}
	root := resolve(doc.Content[0])
	p.root = root
	if root.Kind != yaml.MappingNode {
		p.errAt(root, "", "a spec is a mapping (name:, axes:, …), got %s", kindName(root))
		return Spec{}, false
	}

	s := Spec{Backends: []string{"auto"}, Threads: []int{0}, PromptTokens: []int{128}, GenTokens: []int{64},
		Seed: 1, Repeat: DefaultPolicy, QualityTokens: DefaultQualityTokens}
	if base := strings.TrimSuffix(filepath.Base(p.file), filepath.Ext(p.file)); base != "" && base != "." {
		s.Name = base
	}
	sawModels, sawTypes := false, false
	p.fields(root, "", map[string]func(k, v *yaml.Node, field string){
		"name":        func(_, v *yaml.Node, f string) { p.str(v, f, &s.Name) },
		"description": func(_, v *yaml.Node, f string) { p.str(v, f, &s.Description) },
		"seed":        func(_, v *yaml.Node, f string) { p.uint64(v, f, &s.Seed) },
		"output":      func(_, v *yaml.Node, f string) { p.str(v, f, &s.Output) },
		"soak":        func(_, v *yaml.Node, f string) { p.duration(v, f, &s.Soak) },
		"axes": func(_, v *yaml.Node, f string) {
			p.fields(v, f, map[string]func(k, v *yaml.Node, field string){
				"models":   func(_, v *yaml.Node, f string) { sawModels = true; s.Models = p.models(v, f) },
				"types":    func(_, v *yaml.Node, f string) { sawTypes = true; s.Types = p.strings(v, f) },
				"backends": func(_, v *yaml.Node, f string) { s.Backends = p.strings(v, f) },
				"threads":  func(_, v *yaml.Node, f string) { s.Threads = p.threads(v, f) },
				"prompt":   func(_, v *yaml.Node, f string) { s.PromptTokens = p.ints(v, f) },
				"gen":      func(_, v *yaml.Node, f string) { s.GenTokens = p.ints(v, f) },
				"methods":  func(_, v *yaml.Node, f string) { s.Methods = p.strings(v, f) },
				"pruning":  func(_, v *yaml.Node, f string) { s.Pruning = p.strings(v, f) },
				"sparsity": func(_, v *yaml.Node, f string) { s.Sparsity = p.strings(v, f) },
				"depths":   func(_, v *yaml.Node, f string) { s.Depths = p.ints(v, f) },
				"kv_types": func(_, v *yaml.Node, f string) { s.KVTypes = p.strings(v, f) },
			}, notYetAxes)
		},
		"quality": func(_, v *yaml.Node, f string) {
			p.fields(v, f, map[string]func(k, v *yaml.Node, field string){
				"tokens": func(_, v *yaml.Node, f string) { p.int(v, f, &s.QualityTokens) },
			}, nil)
		},
		"include": func(_, v *yaml.Node, f string) { s.Include = p.rules(v, f) },
		"exclude": func(_, v *yaml.Node, f string) { s.Exclude = p.rules(v, f) },
		"repeat": func(_, v *yaml.Node, f string) {
			p.fields(v, f, map[string]func(k, v *yaml.Node, field string){
				"warmup":        func(_, v *yaml.Node, f string) { p.int(v, f, &s.Repeat.Warmup) },
				"min":           func(_, v *yaml.Node, f string) { p.int(v, f, &s.Repeat.Min) },
				"max":           func(_, v *yaml.Node, f string) { p.int(v, f, &s.Repeat.Max) },
				"target_rel_ci": func(_, v *yaml.Node, f string) { p.float(v, f, &s.Repeat.TargetRelCI) },
				"budget":        func(_, v *yaml.Node, f string) { p.duration(v, f, &s.Repeat.Budget) },
				"confidence":    func(_, v *yaml.Node, f string) { p.float(v, f, &s.Repeat.Confidence) },
			}, nil)
		},
		"probes": func(_, v *yaml.Node, f string) {
			enabled := true
			p.fields(v, f, map[string]func(k, v *yaml.Node, field string){
				"enabled":  func(_, v *yaml.Node, f string) { p.bool(v, f, &enabled) },
				"sources":  func(_, v *yaml.Node, f string) { s.Probes.Sources = p.strings(v, f) },
				"interval": func(_, v *yaml.Node, f string) { p.duration(v, f, &s.Probes.Interval) },
			}, nil)
			s.Probes.Off = !enabled
		},
		"cooldown": func(_, v *yaml.Node, f string) {
			p.fields(v, f, map[string]func(k, v *yaml.Node, field string){
				"delay":         func(_, v *yaml.Node, f string) { p.duration(v, f, &s.Cooldown) },
				"below_celsius": func(_, v *yaml.Node, f string) { p.float(v, f, &s.CoolBelow) },
				"max_wait":      func(_, v *yaml.Node, f string) { p.duration(v, f, &s.CoolMaxWait) },
				"until_stable": func(_, v *yaml.Node, f string) {
					// "until_stable: true" takes the defaults; a mapping sets them.
					if v.Kind == yaml.ScalarNode && v.Tag == "!!bool" {
						on := false
						p.bool(v, f, &on)
						if on {
							s.CoolStable = DefaultCoolStable
						}
						return
					}
					s.CoolStable = DefaultCoolStable
					p.fields(v, f, map[string]func(k, v *yaml.Node, field string){
						"within_celsius": func(_, v *yaml.Node, f string) { p.float(v, f, &s.CoolStable) },
						"window":         func(_, v *yaml.Node, f string) { p.duration(v, f, &s.CoolStableWindow) },
					}, nil)
				},
			}, nil)
		},
	}, notYetTop)
	if root.Kind == yaml.MappingNode {
		if !sawModels {
			p.errAt(p.nodeFor("axes"), "axes.models", "missing: list the models to run (preset names or .gguf paths)")
		}
		presets := !sawModels
		for _, m := range s.Models {
			presets = presets || !runners.IsModelFile(m)
		}
		if !sawTypes && presets {
			p.errAt(p.nodeFor("axes"), "axes.types", "missing: list the weight types, e.g. [f32, q8_0, q4_0]")
		}
	}
	return s, len(p.errs) == 0
}

// Fields the sweep design names that this runner cannot measure
// yet: an error that says so beats "unknown field" for a user who read the
// design, and beats silently ignoring a requested axis.
var (
	notYetAxes = map[string]string{
		"method":  "the axis is called methods (a list: [rtn, awq, gptq])",
		"prune":   "the axis is called pruning (a list: [magnitude, wanda, sparsegpt]), with sparsity",
		"depth":   "the axis is called depths (a list of context depths in tokens: [0, 512, 2048])",
		"context": "the context-depth axis is called depths (a list: [0, 512, 2048])",
		"kv_type": "the axis is called kv_types (a list: [f32, f16, q8_0])",
	}
	notYetTop = map[string]string{}
)

// DefaultCoolStable is the temperature movement (°C over the window) below
// which "cooldown: {until_stable: true}" calls a device settled: thermal
// zones report in steps of 0.05–1 °C, and a board still heating moves
// several degrees a minute.
const DefaultCoolStable = 1.0

// fields walks a mapping node, dispatching each key; unknown and duplicate
// keys are errors naming the known ones.
func (p *parser) fields(n *yaml.Node, path string, known map[string]func(k, v *yaml.Node, field string), notYet map[string]string) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return // "axes:" with nothing under it: keep defaults
		}
		p.errAt(n, path, "want a mapping (key: value lines), got %s", kindName(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		field := k.Value
		if path != "" {
			field = path + "." + k.Value
		}
		if line, dup := seen[k.Value]; dup {
			p.errAt(k, field, "defined twice (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		fn, ok := known[k.Value]
		if !ok {
			if why, ok := notYet[k.Value]; ok {
				p.errAt(k, field, "%s", why)
				continue
			}
			names := make([]string, 0, len(known))
			for name := range known {
				names = append(names, name)
			}
			sort.Strings(names)
			where := "at the top level"
			if path != "" {
				where = "in " + path
			}
			p.errAt(k, field, "unknown field %s (known: %s)", where, strings.Join(names, ", "))
			continue
		}
		// A block list or mapping starts on the line after its key: point
		// problems with the whole value at the key.
		if v.Kind == yaml.ScalarNode {
			p.pos[field] = v
		} else {
			p.pos[field] = k
		}
		fn(k, v, field)
	}
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "a document"
}

func (p *parser) scalar(n *yaml.Node, field, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errAt(n, field, "want %s, got %s", want, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) str(n *yaml.Node, field string, dst *string) {
	if v, ok := p.scalar(n, field, "a string"); ok {
		*dst = v
	}
}

func (p *parser) bool(n *yaml.Node, field string, dst *bool) {
	v, ok := p.scalar(n, field, "true or false")
	if !ok {
		return
	}
	if n.Tag != "!!bool" {
		p.errAt(n, field, "want true or false, got %q", v)
		return
	}
	*dst = v == "true" || v == "True" || v == "TRUE"
}

func (p *parser) int(n *yaml.Node, field string, dst *int) {
	v, ok := p.scalar(n, field, "an integer")
	if !ok {
		return
	}
	i, err := strconv.Atoi(v)
	if err != nil || n.Tag != "!!int" {
		p.errAt(n, field, "want an integer, got %q", v)
		return
	}
	*dst = i
}

func (p *parser) uint64(n *yaml.Node, field string, dst *uint64) {
	v, ok := p.scalar(n, field, "a non-negative integer")
	if !ok {
		return
	}
	u, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n.Tag != "!!int" {
		p.errAt(n, field, "want a non-negative integer, got %q", v)
		return
	}
	*dst = u
}

func (p *parser) float(n *yaml.Node, field string, dst *float64) {
	v, ok := p.scalar(n, field, "a number")
	if !ok {
		return
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || (n.Tag != "!!float" && n.Tag != "!!int") {
		p.errAt(n, field, "want a number, got %q", v)
		return
	}
	*dst = f
}

func (p *parser) duration(n *yaml.Node, field string, dst *time.Duration) {
	v, ok := p.scalar(n, field, "a duration like 30s or 2m")
	if !ok {
		return
	}
	if v == "0" {
		*dst = 0
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		p.errAt(n, field, "want a duration like 30s or 2m, got %q", v)
		return
	}
	*dst = d
}

// list returns the items of a sequence; a single scalar is a one-item list,
// so "threads: 4" means [4].
func (p *parser) list(n *yaml.Node, field string) []*yaml.Node {
	switch n.Kind {
	case yaml.SequenceNode:
		items := make([]*yaml.Node, len(n.Content))
		for i, it := range n.Content {
			items[i] = resolve(it)
			p.pos[fmt.Sprintf("%s[%d]", field, i)] = items[i]
		}
		return items
	case yaml.ScalarNode:
		if n.Tag != "!!null" {
			p.pos[field+"[0]"] = n
			return []*yaml.Node{n}
		}
	}
	p.errAt(n, field, "want a list of values, got %s", kindName(n))
	return nil
}

func (p *parser) strings(n *yaml.Node, field string) []string {
	items := p.list(n, field)
	if items == nil {
		return nil
	}
	out := []string{}
	for i, it := range items {
		if v, ok := p.scalar(it, fmt.Sprintf("%s[%d]", field, i), "a string"); ok {
			out = append(out, v)
		}
	}
	return out
}

// models resolves relative .gguf paths against the spec file's directory,
// so a spec and its models can move together.
func (p *parser) models(n *yaml.Node, field string) []string {
	out := p.strings(n, field)
	for i, m := range out {
		if runners.IsModelFile(m) && !filepath.IsAbs(m) && p.dir != "" {
			out[i] = filepath.Join(p.dir, m)
		}
	}
	return out
}

func (p *parser) ints(n *yaml.Node, field string) []int {
	items := p.list(n, field)
	if items == nil {
		return nil
	}
	out := []int{}
	for i, it := range items {
		var v int
		before := len(p.errs)
		p.int(it, fmt.Sprintf("%s[%d]", field, i), &v)
		if len(p.errs) == before {
			out = append(out, v)
		}
	}
	return out
}

// threads accepts "all" for 0 (every logical CPU).
func (p *parser) threads(n *yaml.Node, field string) []int {
	items := p.list(n, field)
	if items == nil {
		return nil
	}
	out := []int{}
	for i, it := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		if it.Kind == yaml.ScalarNode && strings.EqualFold(it.Value, "all") {
			out = append(out, 0)
			continue
		}
		var v int
		before := len(p.errs)
		p.int(it, f, &v)
		if len(p.errs) == before {
			out = append(out, v)
		}
	}
	return out
}

func (p *parser) rules(n *yaml.Node, field string) []Rule {
	if n.Kind != yaml.SequenceNode {
		p.errAt(n, field, "want a list of rules like - {models: [a], types: [f32]}, got %s", kindName(n))
		return nil
	}
	var out []Rule
	for i, it := range n.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, ok := p.pos[f]; !ok {
			p.pos[f] = resolve(it)
		}
		var r Rule
		p.fields(it, f, map[string]func(k, v *yaml.Node, field string){
			"models":   func(_, v *yaml.Node, f string) { r.Models = p.models(v, f) },
			"types":    func(_, v *yaml.Node, f string) { r.Types = p.strings(v, f) },
			"backends": func(_, v *yaml.Node, f string) { r.Backends = p.strings(v, f) },
			"threads":  func(_, v *yaml.Node, f string) { r.Threads = p.threads(v, f) },
			"prompt":   func(_, v *yaml.Node, f string) { r.PromptTokens = p.ints(v, f) },
			"gen":      func(_, v *yaml.Node, f string) { r.GenTokens = p.ints(v, f) },
			"methods":  func(_, v *yaml.Node, f string) { r.Methods = p.strings(v, f) },
			"pruning":  func(_, v *yaml.Node, f string) { r.Pruning = p.strings(v, f) },
			"sparsity": func(_, v *yaml.Node, f string) { r.Sparsity = p.strings(v, f) },
			"depths":   func(_, v *yaml.Node, f string) { r.Depths = p.ints(v, f) },
			"kv_types": func(_, v *yaml.Node, f string) { r.KVTypes = p.strings(v, f) },
		}, nil)
		out = append(out, r)
	}
	return out
}
