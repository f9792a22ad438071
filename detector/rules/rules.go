package rules

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
)

// File is one rule file as written.
type File struct {
	Classes []Class `yaml:"classes"`
	Rules   []Rule  `yaml:"rules"`
}

// Class names what a tool does. A tool is in the class when its name
// matches ToolName, or its description matches ToolDescription (and, if
// set, neither matches the Not pattern).
type Class struct {
	Name            string `yaml:"name"`
	Description     string `yaml:"description"`
	ToolName        string `yaml:"tool_name"`
	ToolDescription string `yaml:"tool_description"`
	Not             string `yaml:"not"`

	name, desc, not *regexp.Regexp
}

// Rule is one pattern or sequence rule.
type Rule struct {
	ID       string `yaml:"id"`
	Title    string `yaml:"title"`
	Severity string `yaml:"severity"`
	// Pattern and Steps are exclusive: a rule is one or the other.
	Pattern *Pattern `yaml:"pattern"`
	Steps   []Step   `yaml:"steps"`
}

// Where a pattern looks.
const (
	InArguments   = "arguments"
	InResults     = "results"
	InDefinitions = "definitions"
)

// Pattern matches text in one place of a session's traffic.
type Pattern struct {
	// In is arguments, results or definitions (tools/list descriptions and
	// schemas).
	In string `yaml:"in"`
	// Regex is the expression to find (Go RE2 syntax).
	Regex string `yaml:"regex"`
	// Class, if set, limits the rule to tools of that class.
	Class string `yaml:"class"`

	re *regexp.Regexp
}

// Step is one call of a sequence rule.
type Step struct {
	// Class is the tool class the call must be in.
	Class string `yaml:"class"`
	// Within bounds the calls between the previous step and this one
	// (default 10; the first step has none).
	Within int `yaml:"within"`
	// Carries requires the call's arguments to repeat data from the
	// previous step's result.
	Carries bool `yaml:"carries"`
	// OtherServer requires the call to go to another server than the
	// previous step's.
	OtherServer bool `yaml:"other_server"`
}

// Match reports whether regexp text matches s.
func (p *Pattern) Match(s string) []int { return p.re.FindStringIndex(s) }

// Regexp returns the compiled Regex.
func (p *Pattern) Regexp() *regexp.Regexp { return p.re }

// Matches reports whether a tool with this name and description is in c.
func (c *Class) Matches(name, description string) bool {
	in := (c.name != nil && c.name.MatchString(name)) || (c.desc != nil && c.desc.MatchString(description))
	if !in || c.not == nil {
		return in
	}
	return !c.not.MatchString(name) && !c.not.MatchString(description)
}

// Set is a validated collection of classes and rules.
type Set struct {
	Classes []*Class
	Rules   []*Rule
}

// Class returns the class named name, or nil.
func (s *Set) Class(name string) *Class {
	for _, c := range s.Classes {
		if c.Name == name {
			return c
		}
	}
	return nil
}

//go:embed *.yaml
var builtin embed.FS

// Builtin returns the built-in rules.
func Builtin() (*Set, error) {
	s := &Set{}
	if err := s.addFS(builtin, "."); err != nil {
		return nil, fmt.Errorf("rules: built-in rules: %w", err)
	}
	return s, s.validateRefs()
}

// Load returns the built-in rules plus every *.yaml and *.yml file in dir
// (which may also redefine a built-in class or rule by its name or id).
func Load(dir string) (*Set, error) {
	s, err := Builtin()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return s, nil
	}
	if err := s.addFS(os.DirFS(dir), dir); err != nil {
		return nil, err
	}
	return s, s.validateRefs()
}

func (s *Set) addFS(fsys fs.FS, label string) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return fmt.Errorf("rules: read %s: %w", label, err)
	}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return fmt.Errorf("rules: read %s: %w", filepath.Join(label, e.Name()), err)
		}
		f, err := Parse(data)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(label, e.Name()), err)
		}
		s.merge(f)
	}
	return nil
}

func (s *Set) merge(f *File) {
	for i := range f.Classes {
		c := &f.Classes[i]
		if j := slices.IndexFunc(s.Classes, func(o *Class) bool { return o.Name == c.Name }); j >= 0 {
			s.Classes[j] = c
		} else {
			s.Classes = append(s.Classes, c)
		}
	}
	for i := range f.Rules {
		r := &f.Rules[i]
		if j := slices.IndexFunc(s.Rules, func(o *Rule) bool { return o.ID == r.ID }); j >= 0 {
			s.Rules[j] = r
		} else {
			s.Rules = append(s.Rules, r)
		}
	}
}

// validateRefs checks that every class a rule names is defined.
func (s *Set) validateRefs() error {
	var errs []error
	for _, r := range s.Rules {
		if r.Pattern != nil && r.Pattern.Class != "" && s.Class(r.Pattern.Class) == nil {
			errs = append(errs, fmt.Errorf("rule %s: pattern.class %q is not a defined class", r.ID, r.Pattern.Class))
		}
		for i, st := range r.Steps {
			if s.Class(st.Class) == nil {
				errs = append(errs, fmt.Errorf("rule %s: steps[%d].class %q is not a defined class", r.ID, i, st.Class))
			}
		}
	}
	return errors.Join(errs...)
}

var (
	reRuleID    = regexp.MustCompile(`^[a-z][a-z0-9_.-]{2,80}$`)
	reClassName = regexp.MustCompile(`^[a-z][a-z0-9_]{1,40}$`)
	severities  = []string{"info", "low", "medium", "high", "critical"}
)

// Parse decodes and validates one rule file. Unknown fields, bad regular
// expressions, missing or duplicate ids, unknown severities and malformed
// steps are errors that name the rule and field.
func Parse(data []byte) (*File, error) {
	var f File
	if err := yaml.NewDecoder(bytes.NewReader(data), yaml.Strict()).Decode(&f); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &f, nil
		}
		if strings.TrimSpace(string(data)) == "" {
			return &f, nil
		}
		return nil, fmt.Errorf("rules: %s", yaml.FormatError(err, false, true))
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	classes := map[string]bool{}
	for i := range f.Classes {
		c := &f.Classes[i]
		where := fmt.Sprintf("classes[%d] (%s)", i, c.Name)
		if !reClassName.MatchString(c.Name) {
			bad("%s: name %q: want lower-case letters, digits and _", where, c.Name)
		}
		if classes[c.Name] {
			bad("%s: name %q defined twice", where, c.Name)
		}
		classes[c.Name] = true
		if c.ToolName == "" && c.ToolDescription == "" {
			bad("%s: needs tool_name or tool_description", where)
		}
		var err error
		if c.name, err = compile(c.ToolName); err != nil {
			bad("%s: tool_name: %v", where, err)
		}
		if c.desc, err = compile(c.ToolDescription); err != nil {
			bad("%s: tool_description: %v", where, err)
		}
		if c.not, err = compile(c.Not); err != nil {
			bad("%s: not: %v", where, err)
		}
	}
	ids := map[string]bool{}
	for i := range f.Rules {
		r := &f.Rules[i]
		where := fmt.Sprintf("rules[%d] (%s)", i, r.ID)
		if !reRuleID.MatchString(r.ID) {
			bad("%s: id %q: want 3-81 lower-case letters, digits, '.', '_' or '-'", where, r.ID)
		}
		if ids[r.ID] {
			bad("%s: id %q defined twice", where, r.ID)
		}
		ids[r.ID] = true
		if strings.TrimSpace(r.Title) == "" {
			bad("%s: title is missing", where)
		}
		if !slices.Contains(severities, r.Severity) {
			bad("%s: severity %q: want one of %s", where, r.Severity, strings.Join(severities, ", "))
		}
		switch {
		case r.Pattern != nil && len(r.Steps) > 0:
			bad("%s: has both pattern and steps; a rule is one or the other", where)
		case r.Pattern != nil:
			p := r.Pattern
			if p.In != InArguments && p.In != InResults && p.In != InDefinitions {
				bad("%s: pattern.in %q: want arguments, results or definitions", where, p.In)
			}
			if p.Regex == "" {
				bad("%s: pattern.regex is missing", where)
			} else if re, err := compile(p.Regex); err != nil {
				bad("%s: pattern.regex: %v", where, err)
			} else {
				p.re = re
			}
		case len(r.Steps) > 0:
			if len(r.Steps) < 2 {
				bad("%s: steps: a sequence needs at least two steps", where)
			}
			for j := range r.Steps {
				st := &r.Steps[j]
				if st.Class == "" {
					bad("%s: steps[%d].class is missing", where, j)
				}
				if st.Within < 0 || st.Within > 1000 {
					bad("%s: steps[%d].within %d: want 0 (default 10) to 1000", where, j, st.Within)
				}
				if st.Within == 0 {
					st.Within = 10
				}
				if j == 0 && (st.Carries || st.OtherServer) {
					bad("%s: steps[0]: carries and other_server refer to a previous step; the first has none", where)
				}
			}
		default:
			bad("%s: needs a pattern or steps", where)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("rules: %w", errors.Join(errs...))
	}
	return &f, nil
}

func compile(expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	return regexp.Compile(expr)
}

// SeverityNames lists the severities a rule may have, lowest first.
func SeverityNames() []string { return slices.Clone(severities) }
