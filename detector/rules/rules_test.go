package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltin(t *testing.T) {
	set, err := Builtin()
	if err != nil {
		t.Fatalf("Builtin: %v", err)
	}
	if len(set.Classes) == 0 || len(set.Rules) == 0 {
		t.Fatalf("Builtin: %d classes, %d rules", len(set.Classes), len(set.Rules))
	}
	out := set.Class("outbound")
	for _, tc := range []struct {
		name, desc string
		want       bool
	}{
		{"send_email", "", true},
		{"post_webpage", "", true},
		{"create_pull_request", "", true},
		{"get_sent_emails", "", false},
		{"read_inbox", "Read the messages", false},
		{"notify", "Sends a push notification", true},
	} {
		if got := out.Matches(tc.name, tc.desc); got != tc.want {
			t.Errorf("outbound.Matches(%q, %q) = %v, want %v", tc.name, tc.desc, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	check := func(t *testing.T, doc, want string) {
		t.Helper()
		_, err := Parse([]byte(doc))
		if err == nil {
			t.Fatalf("Parse accepted:\n%s", doc)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse error %q, want it to mention %q", err, want)
		}
	}
	tests := []struct{ name, doc, want string }{
		{"unknown field", "rules:\n  - id: a.b\n    titel: x\n", "titel"},
		{"bad severity", "rules:\n  - id: a.b\n    title: t\n    severity: severe\n    pattern: {in: arguments, regex: x}\n", `severity "severe"`},
		{"bad regex", "rules:\n  - id: a.b\n    title: t\n    severity: low\n    pattern: {in: arguments, regex: '(x'}\n", "pattern.regex"},
		{"bad place", "rules:\n  - id: a.b\n    title: t\n    severity: low\n    pattern: {in: headers, regex: x}\n", `pattern.in "headers"`},
		{"one step", "rules:\n  - id: a.b\n    title: t\n    severity: low\n    steps: [{class: reads}]\n", "at least two steps"},
		{"both kinds", "rules:\n  - id: a.b\n    title: t\n    severity: low\n    pattern: {in: results, regex: x}\n    steps: [{class: a}, {class: b}]\n", "one or the other"},
		{"neither", "rules:\n  - id: a.b\n    title: t\n    severity: low\n", "needs a pattern or steps"},
		{"bad id", "rules:\n  - id: A B\n    title: t\n    severity: low\n    pattern: {in: results, regex: x}\n", `id "A B"`},
		{"duplicate id", "rules:\n  - {id: a.b, title: t, severity: low, pattern: {in: results, regex: x}}\n  - {id: a.b, title: t, severity: low, pattern: {in: results, regex: x}}\n", "defined twice"},
		{"class without matcher", "classes:\n  - name: c\n", "tool_name or tool_description"},
		{"carries on first step", "rules:\n  - id: a.b\n    title: t\n    severity: low\n    steps: [{class: a, carries: true}, {class: b}]\n", "steps[0]"},
		{"not yaml", "rules: [", "rules:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.doc, tt.want) })
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("mine.yaml", "rules:\n  - id: site.wire-then-mail\n    title: A payment then a mail\n    severity: high\n    steps: [{class: outbound}, {class: nosuch}]\n")
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), `"nosuch" is not a defined class`) {
		t.Fatalf("Load with an unknown class: %v", err)
	}
	write("mine.yaml", "classes:\n  - name: payments\n    tool_name: '(?i)pay'\nrules:\n  - id: exfil.read-then-send\n    title: replaced\n    severity: low\n    steps: [{class: reads}, {class: payments, carries: true}]\n")
	set, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	builtin, _ := Builtin()
	if len(set.Rules) != len(builtin.Rules) {
		t.Errorf("Load: %d rules, want %d (a rule with a built-in id replaces it)", len(set.Rules), len(builtin.Rules))
	}
	for _, r := range set.Rules {
		if r.ID == "exfil.read-then-send" && r.Title != "replaced" {
			t.Errorf("rule %s not replaced: %q", r.ID, r.Title)
		}
	}
	if set.Class("payments") == nil {
		t.Errorf("Load: class payments missing")
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"classes.yaml", "patterns.yaml", "sequences.yaml"} {
		data, err := builtin.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("rules:\n  - {id: a.b, title: t, severity: low, steps: [{class: a, within: 3}, {class: b, carries: true}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		for _, r := range file.Rules {
			if r.Pattern == nil && len(r.Steps) < 2 {
				t.Fatalf("accepted rule %q with neither a pattern nor a sequence", r.ID)
			}
			if r.Pattern != nil && r.Pattern.re == nil {
				t.Fatalf("accepted pattern rule %q without a compiled regex", r.ID)
			}
		}
	})
}
