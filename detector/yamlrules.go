package detector

import (
	"github.com/cespare/xxhash/v2"

	"strings"

	"github.com/mcptrail/mcptrail/detector/rules"
	"github.com/mcptrail/mcptrail/detector/textscan"
)

// patternRules runs the rule files' pattern rules.
type patternRules struct {
	rules []*rules.Rule
	// matches memoizes the matches on long texts (tool results repeat).
	matches map[patternKey][]int
}

type patternKey struct {
	rule *rules.Rule
	text uint64
}

func newPatternRules(rs []*rules.Rule) *patternRules {
	return &patternRules{rules: rs, matches: map[patternKey][]int{}}
}

// match runs r's pattern on text, memoized for texts over 256 bytes.
func (d *patternRules) match(r *rules.Rule, text string) []int {
	if len(text) <= 256 {
		return r.Pattern.Match(text)
	}
	key := patternKey{r, xxhash.Sum64String(text)}
	loc, ok := d.matches[key]
	if !ok {
		loc = r.Pattern.Match(text)
		if len(d.matches) >= maxScoreCache {
			clear(d.matches)
		}
		d.matches[key] = loc
	}
	return loc
}

func (d *patternRules) Observe(s *Session, o *Observation, emit Emit) {
	for _, r := range d.rules {
		p := r.Pattern
		switch {
		case p.In == rules.InArguments && o.IsCall():
			if p.Class != "" && !o.Call.Is(p.Class) {
				continue
			}
			d.matchLeaves(s, o, r, o.Call.Args, emit)
		case p.In == rules.InResults && o.IsToolResult():
			if p.Class != "" && !o.Call.Is(p.Class) {
				continue
			}
			d.matchLeaves(s, o, r, o.Call.Result, emit)
		case p.In == rules.InDefinitions && len(o.Tools) > 0:
			for _, t := range o.Tools {
				text := t.Name + "\n" + t.Description + "\n" + t.Schema
				if loc := p.Match(text); loc != nil && s.once(r.ID+t.Server+"/"+t.Name) {
					f := s.NewFinding(o.Event.TS, r.ID, severityOf(r), r.Title, nil, []Evidence{{
						What: "tool definition matches the rule's pattern", Tool: t.Name, Excerpt: textscan.Excerpt(text, loc[0]), Hash: hashString(text),
					}})
					f.Server = t.Server
					emit(f)
				}
			}
		}
	}
}

func (d *patternRules) matchLeaves(s *Session, o *Observation, r *rules.Rule, leaves []textscan.Leaf, emit Emit) {
	for _, l := range leaves {
		loc := d.match(r, l.Text)
		if loc == nil || !s.once(r.ID+o.Call.ID) {
			continue
		}
		emit(s.NewFinding(o.Event.TS, r.ID, severityOf(r), r.Title, []*Call{o.Call}, []Evidence{{
			What: "matches in " + r.Pattern.In + " at " + l.Path, CallID: o.Call.ID, Tool: o.Call.Tool,
			Excerpt: textscan.Excerpt(l.Text, loc[0]), Hash: hashString(l.Text),
		}}))
		return
	}
}

// sequenceRules runs the rule files' sequence rules on each tool call: the
// call is the last step, and earlier steps are sought backwards.
type sequenceRules struct {
	rules []*rules.Rule
}

func (d sequenceRules) Observe(s *Session, o *Observation, emit Emit) {
	if !o.IsCall() {
		return
	}
	for _, r := range d.rules {
		last := r.Steps[len(r.Steps)-1]
		if !o.Call.Is(last.Class) {
			continue
		}
		chain := matchSteps(s, r.Steps, o.Call)
		if chain == nil || !s.once(r.ID+o.Call.ID) {
			continue
		}
		ev := make([]Evidence, 0, len(chain))
		for i, c := range chain {
			ev = append(ev, Evidence{What: "step " + string(rune('1'+i)) + ": " + r.Steps[i].Class, CallID: c.ID, Tool: c.Tool})
		}
		emit(s.NewFinding(o.Event.TS, r.ID, severityOf(r), r.Title, chain, ev))
	}
}

// matchSteps finds calls for steps[:len-1] before last, nearest first, and
// returns the whole chain oldest first, or nil.
func matchSteps(s *Session, steps []rules.Step, last *Call) []*Call {
	chain := make([]*Call, len(steps))
	chain[len(steps)-1] = last
	calls := s.Calls()
	var find func(i int, next *Call) bool
	find = func(i int, next *Call) bool {
		if i < 0 {
			return true
		}
		st := steps[i+1]
		for j := len(calls) - 1; j >= 0; j-- {
			c := calls[j]
			if c.Index >= next.Index {
				continue
			}
			if next.Index-c.Index > st.Within {
				break
			}
			if !c.Is(steps[i].Class) || !c.Answered || c.IsError {
				continue
			}
			if st.OtherServer && c.Server == next.Server {
				continue
			}
			if st.Carries && !carries(s, next, c) {
				continue
			}
			chain[i] = c
			if find(i-1, c) {
				return true
			}
		}
		return false
	}
	if !find(len(steps)-2, last) {
		return nil
	}
	return chain
}

// carries reports whether call's arguments repeat data from from's result.
func carries(s *Session, call, from *Call) bool {
	for _, cr := range s.CarriedFrom(call) {
		if cr.From == from && (cr.Shingles > 0 || len(cr.Values) > 0) {
			return true
		}
	}
	return false
}

func severityOf(r *rules.Rule) Severity {
	sev, err := ParseSeverity(strings.TrimSpace(r.Severity))
	if err != nil {
		return Medium // unreachable: rules.Parse validated it
	}
	return sev
}
