package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mcptrail/mcptrail/detector"
)

// Summary is what the demo stored and found; --summary-json writes it.
type Summary struct {
	// RecordsCaptured is the capture records the collectors delivered to
	// the bus; EventsStored the distinct events in ClickHouse. They are
	// equal when nothing was lost (one event per message; the agent sends
	// no JSON-RPC batches).
	RecordsCaptured uint64 `json:"records_captured"`
	EventsStored    uint64 `json:"events_stored"`
	// RecordsLeftInSpools were captured but still wait in a collector's
	// disk spool.
	RecordsLeftInSpools uint64   `json:"records_left_in_spools"`
	Sessions            int      `json:"sessions"`
	Servers             []string `json:"servers"`
	ToolsUsed           uint64   `json:"tools_used"`
	ToolCalls           uint64   `json:"tool_calls"`
	// Findings are the stored findings, counted by severity and rule.
	Findings           int            `json:"findings"`
	FindingsBySeverity map[string]int `json:"findings_by_severity"`
	FindingsByRule     map[string]int `json:"findings_by_rule"`
	// ChainProblems and DeadLetters are the processor's tables' rows.
	ChainProblems uint64 `json:"chain_problems"`
	DeadLetters   uint64 `json:"dead_letters"`
	// RawSecretsStored counts stored rows holding one of the planted
	// secrets verbatim (the collector redacts them before they leave).
	RawSecretsStored uint64 `json:"raw_secrets_stored"`
	// Verify is what `mcptrail verify` found.
	Verify VerifyResult `json:"verify"`
	// Scenarios are the agent's scenarios with their sessions and the
	// findings on them; Unattributed the findings on no scenario's
	// session.
	Scenarios    []ScenarioResult `json:"scenarios"`
	Unattributed []FindingResult  `json:"unattributed_findings"`
	// Queries and Links show where to look.
	Queries []Query `json:"queries"`
	Links   []Link  `json:"links"`
	// Problems are what did not work; OK is true when there are none.
	Problems []string `json:"problems"`
	OK       bool     `json:"ok"`
	Seconds  float64  `json:"seconds"`
}

// VerifyResult is the last line of `mcptrail verify`.
type VerifyResult struct {
	Records  uint64 `json:"records"`
	Streams  uint64 `json:"streams"`
	Problems uint64 `json:"problems"`
	ExitCode int    `json:"exit_code"`
}

// ScenarioResult is one scenario of the agent.
type ScenarioResult struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Attack      string    `json:"attack,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Sessions    []string  `json:"sessions"`
	// Findings are the findings on the scenario's sessions;
	// HighOrCritical counts those at high or above.
	Findings       []FindingResult `json:"findings"`
	HighOrCritical int             `json:"high_or_critical"`
}

// FindingResult is one stored finding.
type FindingResult struct {
	Rule     string    `json:"rule"`
	Severity string    `json:"severity"`
	Session  string    `json:"session"`
	Server   string    `json:"server"`
	Title    string    `json:"title"`
	TS       time.Time `json:"ts"`
}

// Query is a SQL query to look at the stored data.
type Query struct {
	Title string `json:"title"`
	SQL   string `json:"sql"`
}

// Link is a Grafana dashboard link.
type Link struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// window is when a scenario ran: the sessions it opened began inside it.
type window struct {
	name, what, attack string
	start, end         time.Time
}

// highOrCritical reports whether sev names a severity of high or above.
func highOrCritical(sev string) bool {
	s, err := detector.ParseSeverity(sev)
	return err == nil && s >= detector.High
}

// attribute assigns each stored session to the scenario during which it
// began, and each finding to the scenario during which the event that
// raised it happened (scenarios run one after the other), else to its
// session's scenario. Going by the finding's time keeps a session that
// spans scenarios (the proxy's per-connection session, on a connection
// kept open) from taking one scenario's findings to another.
func attribute(windows []window, sessions []sessionRow, findings []findingRow) ([]ScenarioResult, []FindingResult) {
	out := make([]ScenarioResult, len(windows))
	for i, w := range windows {
		out[i] = ScenarioResult{Name: w.name, Description: w.what, Attack: w.attack, Start: w.start, End: w.end, Sessions: []string{}, Findings: []FindingResult{}}
	}
	during := func(t time.Time) int {
		return slices.IndexFunc(windows, func(w window) bool { return !t.Before(w.start) && !t.After(w.end) })
	}
	bySession := map[string]int{}
	for _, s := range sessions {
		if i := during(s.First); i >= 0 {
			out[i].Sessions = append(out[i].Sessions, s.ID)
			bySession[s.ID] = i
		}
	}
	var unattributed []FindingResult
	for _, f := range findings {
		fr := FindingResult{Rule: f.Rule, Severity: f.Severity, Session: f.Session, Server: f.Server, Title: f.Title, TS: f.TS}
		i := during(f.TS)
		if i < 0 {
			var ok bool
			if i, ok = bySession[f.Session]; !ok {
				unattributed = append(unattributed, fr)
				continue
			}
		}
		out[i].Findings = append(out[i].Findings, fr)
		if highOrCritical(f.Severity) {
			out[i].HighOrCritical++
		}
	}
	return out, unattributed
}

// check lists what did not work, sets Problems and OK, and adds the
// failures the run recorded.
func (s *Summary) check(failures []string) {
	p := slices.Clone(failures)
	switch {
	case s.RecordsCaptured == 0:
		p = append(p, "the collectors delivered no records")
	case s.EventsStored != s.RecordsCaptured:
		p = append(p, fmt.Sprintf("%d events stored for %d records captured", s.EventsStored, s.RecordsCaptured))
	}
	if s.RecordsLeftInSpools > 0 {
		p = append(p, fmt.Sprintf("%d records never left the collectors' spools", s.RecordsLeftInSpools))
	}
	if s.DeadLetters > 0 {
		p = append(p, fmt.Sprintf("%d dead letters", s.DeadLetters))
	}
	if s.ChainProblems > 0 {
		p = append(p, fmt.Sprintf("%d hash chain problems found by the processor", s.ChainProblems))
	}
	if s.Verify.ExitCode != 0 || s.Verify.Problems > 0 {
		p = append(p, fmt.Sprintf("mcptrail verify exited %d with %d problems", s.Verify.ExitCode, s.Verify.Problems))
	}
	if s.RawSecretsStored > 0 {
		p = append(p, fmt.Sprintf("%d stored rows hold a planted secret unredacted", s.RawSecretsStored))
	}
	for _, sc := range s.Scenarios {
		switch {
		case len(sc.Sessions) == 0:
			p = append(p, fmt.Sprintf("scenario %s: no stored session", sc.Name))
		case sc.Attack != "" && sc.HighOrCritical == 0:
			p = append(p, fmt.Sprintf("attack %s: no high or critical finding", sc.Attack))
		case sc.Attack == "" && sc.HighOrCritical > 0:
			p = append(p, fmt.Sprintf("ordinary scenario %s: %d high or critical findings", sc.Name, sc.HighOrCritical))
		}
	}
	for _, f := range s.Unattributed {
		if highOrCritical(f.Severity) {
			p = append(p, fmt.Sprintf("%s finding %s on session %s, which belongs to no scenario", f.Severity, f.Rule, f.Session))
		}
	}
	if p == nil {
		p = []string{}
	}
	s.Problems, s.OK = p, len(p) == 0
}

// count fills the finding counts from the scenarios and the unattributed
// findings.
func (s *Summary) count() {
	s.FindingsBySeverity, s.FindingsByRule = map[string]int{}, map[string]int{}
	add := func(f FindingResult) {
		s.Findings++
		s.FindingsBySeverity[f.Severity]++
		s.FindingsByRule[f.Rule]++
	}
	for _, sc := range s.Scenarios {
		for _, f := range sc.Findings {
			add(f)
		}
	}
	for _, f := range s.Unattributed {
		add(f)
	}
}

// Dashboards' uids (dashboards/json).
const (
	sessionDashboard  = "mcptrail-session"
	findingsDashboard = "mcptrail-findings"
	tokensDashboard   = "mcptrail-tokens"
	toolsDashboard    = "mcptrail-tools"
	pipelineDashboard = "mcptrail-pipeline"
)

// lookAt fills the queries and links that show the attacks.
func (s *Summary) lookAt(db, grafana string, from, to time.Time) {
	s.Queries = []Query{
		{"findings, newest last", "SELECT ts, severity, rule, server_name, session, title FROM " + db + ".findings FINAL ORDER BY ts"},
		{"sessions", "SELECT session, first_ts, messages, tool_calls, servers, tools FROM " + db + ".session_summary ORDER BY first_ts"},
		{"tools whose definition changed (the rug pull)", "SELECT server_name, tool_name, definitions FROM " + db + ".tool_changes"},
		{"where each token was used (the replayed token is at two servers)", "SELECT token_fp, server_name, calls, sessions, subjects FROM " + db + ".token_usage ORDER BY token_fp"},
	}
	for _, sc := range s.Scenarios {
		if sc.Attack == attackExfiltration && len(sc.Sessions) > 0 {
			s.Queries = append(s.Queries, Query{"the exfiltration, call by call (secrets redacted at the collector)",
				"SELECT ts, dir, kind, method, target, substring(params, 1, 160) AS params, substring(result, 1, 160) AS result FROM " + db +
					".events WHERE session = '" + sc.Sessions[0] + "' ORDER BY ts"})
		}
	}
	base := strings.TrimRight(grafana, "/")
	timeRange := fmt.Sprintf("from=%d&to=%d", from.Add(-time.Minute).UnixMilli(), to.Add(time.Minute).UnixMilli())
	s.Links = []Link{
		{"findings", base + "/d/" + findingsDashboard + "?" + timeRange},
		{"tokens", base + "/d/" + tokensDashboard + "?" + timeRange},
		{"tool catalog", base + "/d/" + toolsDashboard + "?" + timeRange},
		{"pipeline health", base + "/d/" + pipelineDashboard + "?" + timeRange},
	}
	for _, sc := range s.Scenarios {
		if sc.Attack == "" {
			continue
		}
		var linked []string
		for _, f := range sc.Findings {
			if !highOrCritical(f.Severity) || slices.Contains(linked, f.Session) {
				continue
			}
			linked = append(linked, f.Session)
			s.Links = append(s.Links, Link{sc.Attack + " session", base + "/d/" + sessionDashboard + "?" + timeRange + "&var-session=" + url.QueryEscape(f.Session)})
		}
	}
}

// write prints the summary for a terminal.
func (s *Summary) write(w io.Writer, db string, chdb string, kept bool) {
	fmt.Fprintf(w, "\n== mcptrail demo: summary (%.0f s)\n\n", s.Seconds)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "records captured\t%d\t(collectors to the bus)\n", s.RecordsCaptured)
	fmt.Fprintf(tw, "events stored\t%d\t(%s.events)\n", s.EventsStored, db)
	fmt.Fprintf(tw, "sessions\t%d\ton %d servers: %s\n", s.Sessions, len(s.Servers), strings.Join(s.Servers, ", "))
	fmt.Fprintf(tw, "tools\t%d\tdistinct tools in %d calls\n", s.ToolsUsed, s.ToolCalls)
	fmt.Fprintf(tw, "findings\t%d\t%s\n", s.Findings, bySeverity(s.FindingsBySeverity))
	fmt.Fprintf(tw, "chain problems\t%d\t(mcptrail verify: %d records in %d streams, %d problems)\n", s.ChainProblems, s.Verify.Records, s.Verify.Streams, s.Verify.Problems)
	fmt.Fprintf(tw, "dead letters\t%d\t\n", s.DeadLetters)
	fmt.Fprintf(tw, "raw secrets stored\t%d\t(the collector redacts them before records leave the host)\n", s.RawSecretsStored)
	tw.Flush()

	fmt.Fprintf(w, "\nfindings by rule:\n")
	rules := make([]string, 0, len(s.FindingsByRule))
	for r := range s.FindingsByRule {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	for _, r := range rules {
		fmt.Fprintf(w, "  %-34s %d\n", r, s.FindingsByRule[r])
	}

	fmt.Fprintf(w, "\nscenarios:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  \tSCENARIO\tSESSIONS\tFINDINGS\tHIGH+\tRULES (HIGH+)\n")
	for _, sc := range s.Scenarios {
		kind := "ordinary"
		if sc.Attack != "" {
			kind = "ATTACK"
		}
		var top []string
		for _, f := range sc.Findings {
			if highOrCritical(f.Severity) && !slices.Contains(top, f.Severity+" "+f.Rule) {
				top = append(top, f.Severity+" "+f.Rule)
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%s\n", kind, sc.Name, len(sc.Sessions), len(sc.Findings), sc.HighOrCritical, strings.Join(top, ", "))
	}
	tw.Flush()
	for _, sc := range s.Scenarios {
		if slices.ContainsFunc(sc.Sessions, func(id string) bool { return strings.HasPrefix(id, "conn-") }) {
			fmt.Fprintf(w, "  (conn-… sessions hold HTTP exchanges outside an MCP session, keyed by the client's connection:\n   here the MCP SDK's server/discover probe before initialize)\n")
			break
		}
	}
	if len(s.Unattributed) > 0 {
		fmt.Fprintf(w, "  findings on sessions of no scenario: %d\n", len(s.Unattributed))
	}

	fmt.Fprintf(w, "\nlook at it:\n")
	switch {
	case chdb != "" && kept:
		fmt.Fprintf(w, "  the data stays in %s; serve it again with\n    python3 deployments/chdb/bridge.py --port 8123 --data-dir %s\n  and run the queries below with\n    curl -s --data-binary 'SELECT ...' http://127.0.0.1:8123/\n", chdb, chdb)
	case chdb != "":
		fmt.Fprintf(w, "  (the chDB data is removed with the data dir; run the demo with --keep to query it afterwards)\n")
	}
	for _, q := range s.Queries {
		fmt.Fprintf(w, "  -- %s\n  %s;\n", q.Title, q.SQL)
	}
	fmt.Fprintf(w, "  Grafana (provisioned from deployments/grafana, on a ClickHouse server given with --clickhouse):\n")
	for _, l := range s.Links {
		fmt.Fprintf(w, "    %-22s %s\n", l.Title, l.URL)
	}

	if s.OK {
		fmt.Fprintf(w, "\ndemo OK: every record stored, every attack caught, no high finding on ordinary work.\n")
		return
	}
	fmt.Fprintf(w, "\ndemo FAILED:\n  - %s\n", strings.Join(s.Problems, "\n  - "))
}

// bySeverity formats counts from critical down.
func bySeverity(m map[string]int) string {
	var parts []string
	for s := detector.Critical; s >= detector.Info; s-- {
		if sev := s.String(); m[sev] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[sev], sev))
		}
	}
	return strings.Join(parts, ", ")
}

// writeJSON writes the summary to path.
func (s *Summary) writeJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--summary-json: %w", err)
	}
	return nil
}
