package demo

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// testWindows are three scenarios, one after the other: ordinary work
// from 0 to 10 s, an exfiltration from 10 to 20 s, a token replay from 20
// to 30 s.
func testWindows() []window {
	return []window{
		{name: "notes", start: at(0), end: at(10)},
		{name: "exfiltration", attack: attackExfiltration, start: at(10), end: at(20)},
		{name: "token-replay", attack: attackTokenReplay, start: at(20), end: at(30)},
	}
}

func TestAttribute(t *testing.T) {
	sessions := []sessionRow{
		{ID: "s-notes", First: at(1)},
		{ID: "conn-1", First: at(2)}, // a kept-alive connection: used again at 24 s
		{ID: "s-edge", First: at(10)},
		{ID: "s-exfil", First: at(11)},
		{ID: "s-token-a", First: at(21)},
		{ID: "s-token-b", First: at(25)},
		{ID: "s-late", First: at(45)},
	}
	findings := []findingRow{
		{Session: "s-notes", Rule: "tool.poisoned-description", Severity: "medium", TS: at(5)},
		{Session: "s-exfil", Rule: "injection.tool-result", Severity: "high", TS: at(12)},
		{Session: "s-exfil", Rule: "exfil.sensitive-file-argument", Severity: "high", TS: at(13)},
		{Session: "conn-1", Rule: "token.audience-mismatch", Severity: "high", TS: at(24)},
		{Session: "s-token-b", Rule: "token.multi-server", Severity: "high", TS: at(26)},
		{Session: "s-token-b", Rule: "token.audience-mismatch", Severity: "critical", TS: at(27)},
		{Session: "s-token-a", Rule: "token.expired", Severity: "medium", TS: at(40)}, // after the scenarios: its session's
		{Session: "s-late", Rule: "token.expired", Severity: "medium", TS: at(45)},
		{Session: "s-unknown", Rule: "injection.tool-result", Severity: "high", TS: at(50)},
	}
	got, unattributed := attribute(testWindows(), sessions, findings)

	check := func(name string, sessions []string, findings, high int) {
		t.Helper()
		i := slices.IndexFunc(got, func(s ScenarioResult) bool { return s.Name == name })
		if i < 0 {
			t.Fatalf("no scenario %s", name)
		}
		sc := got[i]
		if !slices.Equal(sc.Sessions, sessions) || len(sc.Findings) != findings || sc.HighOrCritical != high {
			t.Errorf("%s: sessions %v, %d findings, %d high+; want %v, %d, %d", name, sc.Sessions, len(sc.Findings), sc.HighOrCritical, sessions, findings, high)
		}
	}
	// A session that begins exactly when one scenario ends and the next
	// starts goes to the first (in a run the next scenario starts after
	// the previous one's sessions closed, so this does not happen).
	check("notes", []string{"s-notes", "conn-1", "s-edge"}, 1, 0)
	check("exfiltration", []string{"s-exfil"}, 2, 2)
	// conn-1 began during the notes, but its finding came during the
	// token replay.
	check("token-replay", []string{"s-token-a", "s-token-b"}, 4, 3)
	if len(unattributed) != 2 {
		t.Fatalf("unattributed %+v, want the findings of s-late and s-unknown", unattributed)
	}
	for _, f := range unattributed {
		if f.Session != "s-late" && f.Session != "s-unknown" {
			t.Errorf("finding of %s unattributed", f.Session)
		}
	}
}

func TestCheck(t *testing.T) {
	good := func() *Summary {
		return &Summary{
			RecordsCaptured: 150, EventsStored: 150, Verify: VerifyResult{Records: 150, Streams: 8},
			Scenarios: []ScenarioResult{
				{Name: "notes", Sessions: []string{"a"}, Findings: []FindingResult{{Severity: "medium"}}},
				{Name: "exfiltration", Attack: attackExfiltration, Sessions: []string{"b"}, HighOrCritical: 2},
			},
			Unattributed: []FindingResult{{Severity: "low", Rule: "tool.list-changed", Session: "c"}},
		}
	}
	tests := []struct {
		name   string
		change func(*Summary)
		fails  []string
		extra  []string
	}{
		{"all good", func(*Summary) {}, nil, nil},
		{"nothing captured", func(s *Summary) { s.RecordsCaptured, s.EventsStored = 0, 0 }, []string{"delivered no records"}, nil},
		{"rows missing", func(s *Summary) { s.EventsStored = 149 }, []string{"149 events stored for 150 records"}, nil},
		{"spool left", func(s *Summary) { s.RecordsLeftInSpools = 3 }, []string{"3 records never left"}, nil},
		{"dead letters", func(s *Summary) { s.DeadLetters = 1 }, []string{"1 dead letters"}, nil},
		{"chain problems", func(s *Summary) { s.ChainProblems = 2 }, []string{"2 hash chain problems"}, nil},
		{"verify found problems", func(s *Summary) { s.Verify.ExitCode, s.Verify.Problems = 1, 4 }, []string{"verify exited 1 with 4 problems"}, nil},
		{"secret stored", func(s *Summary) { s.RawSecretsStored = 1 }, []string{"planted secret unredacted"}, nil},
		{"attack missed", func(s *Summary) { s.Scenarios[1].HighOrCritical = 0 }, []string{"attack exfiltration: no high or critical finding"}, nil},
		{"ordinary flagged", func(s *Summary) { s.Scenarios[0].HighOrCritical = 1 }, []string{"ordinary scenario notes: 1 high or critical"}, nil},
		{"scenario without session", func(s *Summary) { s.Scenarios[0].Sessions = nil }, []string{"scenario notes: no stored session"}, nil},
		{"high finding outside the scenarios", func(s *Summary) { s.Unattributed[0].Severity = "critical" }, []string{"critical finding tool.list-changed on session c"}, nil},
		{"a child failed", func(*Summary) {}, []string{"bus exited"}, []string{"bus exited with 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good()
			tt.change(s)
			s.check(tt.extra)
			if s.OK != (len(tt.fails) == 0) {
				t.Errorf("OK = %v with problems %q", s.OK, s.Problems)
			}
			if len(s.Problems) != len(tt.fails) {
				t.Fatalf("problems %q, want %d", s.Problems, len(tt.fails))
			}
			for i, want := range tt.fails {
				if !strings.Contains(s.Problems[i], want) {
					t.Errorf("problem %q, want it to say %q", s.Problems[i], want)
				}
			}
		})
	}
}

func TestCountAndLinks(t *testing.T) {
	s := &Summary{
		Scenarios: []ScenarioResult{
			{Name: "notes", Sessions: []string{"a"}, Findings: []FindingResult{{Rule: "tool.poisoned-description", Severity: "medium", Session: "a"}}},
			{Name: "token-replay", Attack: attackTokenReplay, Sessions: []string{"conn-1", "b", "c"}, Findings: []FindingResult{
				{Rule: "token.audience-mismatch", Severity: "high", Session: "conn-1"},
				{Rule: "token.audience-mismatch", Severity: "high", Session: "c"},
				{Rule: "token.multi-server", Severity: "high", Session: "c"},
				{Rule: "tool.list-changed", Severity: "low", Session: "b"},
			}},
		},
		Unattributed: []FindingResult{{Rule: "tool.list-changed", Severity: "low", Session: "z"}},
	}
	s.count()
	if s.Findings != 6 || s.FindingsBySeverity["high"] != 3 || s.FindingsBySeverity["low"] != 2 || s.FindingsByRule["token.audience-mismatch"] != 2 {
		t.Errorf("counts: %d findings, by severity %v, by rule %v", s.Findings, s.FindingsBySeverity, s.FindingsByRule)
	}
	s.lookAt("mcptrail_demo", "http://grafana.test:3000/", at(0), at(60))
	var sessions []string
	for _, l := range s.Links {
		if i := strings.Index(l.URL, "var-session="); i >= 0 {
			sessions = append(sessions, l.URL[i+len("var-session="):])
		}
		if !strings.HasPrefix(l.URL, "http://grafana.test:3000/d/mcptrail-") {
			t.Errorf("link %s", l.URL)
		}
	}
	// One link per attack session with a high finding, each once.
	if !slices.Equal(sessions, []string{"conn-1", "c"}) {
		t.Errorf("session links %v, want conn-1 and c", sessions)
	}
	for _, q := range s.Queries {
		if !strings.Contains(q.SQL, "mcptrail_demo.") {
			t.Errorf("query %q does not name the database", q.SQL)
		}
	}
}

// TestSummaryJSON: the names .ci/check-demo-summary.py reads.
func TestSummaryJSON(t *testing.T) {
	s := &Summary{RecordsCaptured: 3, EventsStored: 3, Scenarios: []ScenarioResult{{Name: "rug-pull", Attack: attackRugPull, Sessions: []string{"x"}, HighOrCritical: 1}}}
	s.count()
	s.check(nil)
	path := filepath.Join(t.TempDir(), "summary.json")
	if err := s.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"records_captured", "events_stored", "dead_letters", "chain_problems", "scenarios", "unattributed_findings", "ok", "problems"} {
		if _, ok := m[k]; !ok {
			t.Errorf("summary JSON has no %q: %s", k, b)
		}
	}
	sc := m["scenarios"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "attack", "sessions", "findings", "high_or_critical"} {
		if _, ok := sc[k]; !ok {
			t.Errorf("scenario JSON has no %q: %v", k, sc)
		}
	}
}
