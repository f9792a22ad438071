package detector

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
)

// Report writes findings as they come, in one of the formats of
// `mcptrail detect --format`: jsonl (one finding per line) or table (one
// aligned line per finding, for a terminal).
type Report struct {
	w      io.Writer
	table  bool
	header bool
	err    error
	// Counts per severity of the findings written.
	Counts [Critical + 1]int
}

// NewReport returns a Report writing format ("jsonl" or "table") to w.
func NewReport(w io.Writer, format string) (*Report, error) {
	switch format {
	case "jsonl", "table":
	default:
		return nil, fmt.Errorf("detector: --format %q: want jsonl or table", format)
	}
	return &Report{w: w, table: format == "table"}, nil
}

// Write writes one finding. The first write error sticks: later writes do
// nothing and Err returns it.
func (r *Report) Write(f Finding) {
	if r.err != nil {
		return
	}
	if f.Severity >= Info && f.Severity <= Critical {
		r.Counts[f.Severity]++
	}
	if !r.table {
		b, err := json.Marshal(f, json.Deterministic(true))
		if err == nil {
			b = append(b, '\n')
			_, err = r.w.Write(b)
		}
		r.err = err
		return
	}
	if !r.header {
		r.header = true
		_, r.err = fmt.Fprintf(r.w, "%-24s %-8s %-18s %-30s %-14s %s\n", "TIME", "SEVERITY", "SESSION", "RULE", "CALLS", "TITLE")
	}
	calls := strings.Join(f.CallIDs, ",")
	if len(calls) > 14 {
		calls = calls[:13] + "…"
	}
	_, err := fmt.Fprintf(r.w, "%-24s %-8s %-18s %-30s %-14s %s\n", f.TS.UTC().Format(time.RFC3339Nano)[:min(24, len(f.TS.UTC().Format(time.RFC3339Nano)))], f.Severity, f.Session, f.Rule, calls, f.Title)
	if err != nil {
		r.err = err
	}
}

// Err returns the first write error.
func (r *Report) Err() error { return r.err }

// Summary is one line counting the findings per severity.
func (r *Report) Summary() string {
	var parts []string
	total := 0
	for s := Critical; s >= Info; s-- {
		total += r.Counts[s]
		if r.Counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", r.Counts[s], s))
		}
	}
	if total == 0 {
		return "0 findings"
	}
	return fmt.Sprintf("%d findings: %s", total, strings.Join(parts, ", "))
}
