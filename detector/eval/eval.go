// Package eval measures the detector on labelled capture files: for each
// data set (a folder with NAME.capture.jsonl and NAME.labels.jsonl, as in
// shared/datasets), the sessions per label, the sessions flagged at or
// above a severity, recall on attack_succeeded, the flagged rate on
// attack_failed and the false-positive rate on benign, with a per-rule
// breakdown.
package eval

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/detector"
	"github.com/mcptrail/mcptrail/schemas"
)

// Labels of a session, as the data sets write them.
const (
	LabelSucceeded     = "attack_succeeded"
	LabelFailed        = "attack_failed"
	LabelBenign        = "benign"
	LabelUserRequested = "user_requested"
)

// Result is the measurement of one data set.
type Result struct {
	Name     string
	Sessions map[string]int // per label
	Flagged  map[string]int // per label, at or above Threshold
	// PerRule counts, per "rule (severity)" and label, the sessions with
	// a finding of the rule at that severity.
	PerRule   map[string]map[string]int
	Threshold detector.Severity
	Records   int
	Findings  int
	// Missed lists up to 20 attack_succeeded sessions not flagged.
	Missed []string
	// AllMissed lists every attack_succeeded session not flagged.
	AllMissed []string
	// FalsePositives lists up to 20 benign sessions flagged.
	FalsePositives []string
}

// Rate returns flagged/sessions for label (0 with no sessions).
func (r *Result) Rate(label string) float64 {
	if r.Sessions[label] == 0 {
		return 0
	}
	return float64(r.Flagged[label]) / float64(r.Sessions[label])
}

// NewEngine makes the engine each data set is run through.
type NewEngine func() (*detector.Engine, error)

// Dataset runs a fresh engine over the capture file of the data set in dir.
func Dataset(ctx context.Context, dir string, threshold detector.Severity, newEngine NewEngine) (*Result, error) {
	name := filepath.Base(dir)
	labels, err := readLabels(filepath.Join(dir, name+".labels.jsonl"))
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, name+".capture.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	eng, err := newEngine()
	if err != nil {
		return nil, err
	}
	res := &Result{Name: name, Sessions: map[string]int{}, Flagged: map[string]int{}, PerRule: map[string]map[string]int{}, Threshold: threshold}
	for _, l := range labels {
		res.Sessions[l]++
	}
	flagged := map[string]bool{}
	perRule := map[string]map[string]bool{}
	emit := func(f detector.Finding) {
		res.Findings++
		key := f.Rule + " (" + f.Severity.String() + ")"
		if perRule[key] == nil {
			perRule[key] = map[string]bool{}
		}
		perRule[key][f.Session] = true
		if f.Severity >= threshold {
			flagged[f.Session] = true
		}
	}
	rd := schemas.NewReader(f)
	var rec schemas.Record
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		err := rd.NextInto(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("eval: %s: %w", name, err)
		}
		res.Records++
		eng.Observe(&rec, emit)
	}
	eng.Close(emit)
	for s := range flagged {
		l := labels[s]
		res.Flagged[l]++
		if l == LabelBenign && len(res.FalsePositives) < 20 {
			res.FalsePositives = append(res.FalsePositives, s)
		}
	}
	for s, l := range labels {
		if l == LabelSucceeded && !flagged[s] {
			res.AllMissed = append(res.AllMissed, s)
		}
		if l == LabelSucceeded && !flagged[s] && len(res.Missed) < 20 {
			res.Missed = append(res.Missed, s)
		}
	}
	slices.Sort(res.Missed)
	slices.Sort(res.FalsePositives)
	for rule, sessions := range perRule {
		res.PerRule[rule] = map[string]int{}
		for s := range sessions {
			res.PerRule[rule][labels[s]]++
		}
	}
	return res, nil
}

func readLabels(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for line := 1; sc.Scan(); line++ {
		var l struct {
			Session string `json:"session"`
			Label   string `json:"label"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l, json.RejectUnknownMembers(false)); err != nil {
			return nil, fmt.Errorf("eval: %s:%d: %w", path, line, err)
		}
		if l.Session == "" || l.Label == "" {
			return nil, fmt.Errorf("eval: %s:%d: a label needs session and label", path, line)
		}
		out[l.Session] = l.Label
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("eval: %s: %w", path, err)
	}
	return out, nil
}

// Datasets returns the data-set folders under root (those holding a
// NAME.labels.jsonl), sorted.
func Datasets(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if _, err := os.Stat(filepath.Join(dir, e.Name()+".labels.jsonl")); err == nil {
			out = append(out, dir)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("eval: no data sets (NAME/NAME.labels.jsonl) under %s", root)
	}
	return out, nil
}

// Print writes the result as a table.
func Print(w io.Writer, r *Result) {
	labels := []string{LabelSucceeded, LabelFailed, LabelBenign, LabelUserRequested}
	fmt.Fprintf(w, "== %s: %d records, %d findings; flagged = a finding at %s or above\n", r.Name, r.Records, r.Findings, r.Threshold)
	fmt.Fprintf(w, "%-18s %9s %9s %7s\n", "label", "sessions", "flagged", "rate")
	for _, l := range labels {
		if r.Sessions[l] == 0 {
			continue
		}
		fmt.Fprintf(w, "%-18s %9d %9d %7.3f\n", l, r.Sessions[l], r.Flagged[l], r.Rate(l))
	}
	if r.Sessions[LabelSucceeded] > 0 {
		fmt.Fprintf(w, "recall on %s: %.3f\n", LabelSucceeded, r.Rate(LabelSucceeded))
	}
	if r.Sessions[LabelFailed] > 0 {
		fmt.Fprintf(w, "flagged rate on %s: %.3f\n", LabelFailed, r.Rate(LabelFailed))
	}
	if r.Sessions[LabelBenign] > 0 {
		fmt.Fprintf(w, "false-positive rate on %s: %.3f\n", LabelBenign, r.Rate(LabelBenign))
	}
	rules := make([]string, 0, len(r.PerRule))
	for rule := range r.PerRule {
		rules = append(rules, rule)
	}
	slices.Sort(rules)
	if len(rules) > 0 {
		fmt.Fprintf(w, "%-44s", "per rule and severity (sessions)")
		for _, l := range labels {
			fmt.Fprintf(w, " %16s", l)
		}
		fmt.Fprintln(w)
		for _, rule := range rules {
			fmt.Fprintf(w, "%-44s", rule)
			for _, l := range labels {
				fmt.Fprintf(w, " %16d", r.PerRule[rule][l])
			}
			fmt.Fprintln(w)
		}
	}
	if len(r.Missed) > 0 {
		fmt.Fprintf(w, "missed %s (up to 20): %s\n", LabelSucceeded, strings.Join(r.Missed, " "))
	}
	if len(r.FalsePositives) > 0 {
		fmt.Fprintf(w, "flagged %s (up to 20): %s\n", LabelBenign, strings.Join(r.FalsePositives, " "))
	}
}
