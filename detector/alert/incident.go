package alert

import (
	"container/list"
	"slices"
	"time"

	"github.com/mcptrail/mcptrail/detector"
)

// notSent is an output's delivered severity before its first delivery.
const notSent detector.Severity = -1

// incident is the live state of one open incident.
type incident struct {
	alert   Alert                        // the current snapshot (Change unset)
	seen    map[uint64]detector.Severity // finding id -> severity
	updated time.Time                    // the clock at the last finding
	elem    *list.Element                // in Notifier.lru; front = most recent
	// Per output, by index: the highest severity delivered, and when the
	// incident was last delivered.
	sent     []detector.Severity
	lastSent []time.Time
}

func newIncident(key string, outputs int) *incident {
	inc := &incident{
		alert:    Alert{Key: key},
		seen:     make(map[uint64]detector.Severity),
		sent:     make([]detector.Severity, outputs),
		lastSent: make([]time.Time, outputs),
	}
	for i := range inc.sent {
		inc.sent[i] = notSent
	}
	return inc
}

// merge adds f to the incident and reports whether it changed anything
// (false for a duplicate finding that raises nothing).
func (inc *incident) merge(f *detector.Finding, c *Config) bool {
	a := &inc.alert
	first := a.Count == 0
	if old, ok := inc.seen[f.ID]; ok {
		if f.Severity <= old {
			return false
		}
		inc.seen[f.ID] = f.Severity // the same finding again, with a raised severity
	} else {
		if len(inc.seen) < c.MaxFindingIDs {
			inc.seen[f.ID] = f.Severity
		}
		a.Count++
	}
	if first || f.Severity > a.Severity {
		a.Severity, a.Title, a.Rule = f.Severity, f.Title, f.Rule
	}
	a.Session = f.Session
	if len(a.Rules) < c.MaxRules && !slices.Contains(a.Rules, f.Rule) {
		a.Rules = append(a.Rules, f.Rule)
	}
	for _, id := range f.CallIDs {
		if len(a.CallIDs) >= c.MaxCallIDs {
			break
		}
		if !slices.Contains(a.CallIDs, id) {
			a.CallIDs = append(a.CallIDs, id)
		}
	}
	if !f.TS.IsZero() {
		if a.FirstTS.IsZero() || f.TS.Before(a.FirstTS) {
			a.FirstTS = f.TS
		}
		if f.TS.After(a.LastTS) {
			a.LastTS = f.TS
		}
	}
	if a.Host == "" {
		a.Host = f.Host
	}
	if a.Server == "" {
		a.Server = f.Server
	}
	if a.Client == "" {
		a.Client = f.Client
	}
	return true
}

// snapshot returns a copy of the alert, safe to hand to an output.
func (inc *incident) snapshot(change Change) Alert {
	a := inc.alert
	a.Change = change
	a.Rules = slices.Clone(a.Rules)
	a.CallIDs = slices.Clone(a.CallIDs)
	return a
}

// caughtUp reports whether every output has the current severity.
func (inc *incident) caughtUp() bool {
	for _, s := range inc.sent {
		if s < inc.alert.Severity {
			return false
		}
	}
	return true
}
