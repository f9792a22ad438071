package detector

import (
	"slices"
	"strings"

	"github.com/mcptrail/mcptrail/detector/rules"
	"github.com/mcptrail/mcptrail/detector/textscan"
	"github.com/mcptrail/mcptrail/detector/textscan/prefilter"
)

// patternRules runs the rule files' pattern rules.
type patternRules struct {
	rules []*rules.Rule
	// set holds the rules' expressions, at their indexes in rules: one scan
	// of a text finds where each can match.
	set *prefilter.Set
	// matches memoizes, per argument or result text, where each rule
	// matches (-1: nowhere, unknown: not yet run): texts repeat.
	matches map[*leafText][]int32
	// hits is the slice of scans matchLeaves reuses from one observation
	// to the next.
	hits []*prefilter.Hits
}

// unknownMatch marks a rule not yet run on a text.
const unknownMatch = -2

// newPatternRules returns the detection of the pattern rules rs, whose
// expressions set holds at their indexes in rs.
func newPatternRules(rs []*rules.Rule, set *prefilter.Set) *patternRules {
	return &patternRules{rules: rs, set: set, matches: map[*leafText][]int32{}}
}

// match returns where rule i's pattern first matches t, or -1. *hits is
// t's scan, made on first use.
func (d *patternRules) match(i int, t *leafText, hits **prefilter.Hits) int {
	locs := d.matches[t]
	if locs == nil {
		locs = make([]int32, len(d.rules))
		for k := range locs {
			locs[k] = unknownMatch
		}
		if len(d.matches) >= maxScoreCache {
			clear(d.matches)
		}
		d.matches[t] = locs
	}
	if locs[i] == unknownMatch {
		if *hits == nil {
			*hits = d.set.Scan(t.s)
		}
		locs[i] = int32((*hits).Index(i, 0, len(t.s)))
	}
	return int(locs[i])
}

func (d *patternRules) Observe(s *Session, o *Observation, emit Emit) {
	var hits []*prefilter.Hits // the scans of the leaves, made on first use
	for i, r := range d.rules {
		p := r.Pattern
		switch {
		case p.In == rules.InArguments && o.IsCall():
			if p.Class != "" && !o.Call.Is(p.Class) {
				continue
			}
			hits = d.matchLeaves(s, o, i, o.Call.Args(), o.Call.argTexts(), hits, emit)
		case p.In == rules.InResults && o.IsToolResult():
			if p.Class != "" && !o.Call.Is(p.Class) {
				continue
			}
			hits = d.matchLeaves(s, o, i, o.Call.Result(), o.Call.resultTexts(), hits, emit)
		case p.In == rules.InDefinitions && len(o.Tools) > 0:
			for _, t := range o.Tools {
				text := t.Name + "\n" + t.Description + "\n" + t.Schema
				if at := d.set.Scan(text).Index(i, 0, len(text)); at >= 0 && s.once(r.ID, t.Server+"/"+t.Name) {
					f := s.NewFinding(o.Event.TS, r.ID, severityOf(r), r.Title, nil, []Evidence{{
						What: "tool definition matches the rule's pattern", Tool: t.Name, Excerpt: textscan.Excerpt(text, at), Hash: hashString(text),
					}})
					f.Server = t.Server
					emit(f)
				}
			}
		}
	}
}

// matchLeaves reports the first leaf rule i matches. texts are the
// leaves' texts, hits their scans so far (an observation's arguments or
// result), returned with any it made.
func (d *patternRules) matchLeaves(s *Session, o *Observation, i int, leaves []textscan.Leaf, texts []*leafText, hits []*prefilter.Hits, emit Emit) []*prefilter.Hits {
	if hits == nil {
		if cap(d.hits) < len(leaves) {
			d.hits = make([]*prefilter.Hits, len(leaves))
		}
		hits = d.hits[:len(leaves)]
		clear(hits)
	}
	r := d.rules[i]
	for k, l := range leaves {
		at := d.match(i, texts[k], &hits[k])
		if at < 0 || !s.once(r.ID, o.Call.ID) {
			continue
		}
		emit(s.NewFinding(o.Event.TS, r.ID, severityOf(r), r.Title, []*Call{o.Call}, []Evidence{{
			What: "matches in " + r.Pattern.In + " at " + l.Path, CallID: o.Call.ID, Tool: o.Call.Tool,
			Excerpt: textscan.Excerpt(l.Text, at), Hash: hashString(l.Text),
		}}))
		break
	}
	return hits
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
		if chain == nil || !s.once(r.ID, o.Call.ID) {
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
	// The chain is built on the stack and copied only when it matches: the
	// last step's class matches many calls.
	var buf [8]*Call
	var chain []*Call
	if len(steps) <= len(buf) {
		chain = buf[:len(steps)]
	} else {
		chain = make([]*Call, len(steps))
	}
	chain[len(steps)-1] = last
	if !findSteps(s, steps, s.Calls(), chain, len(steps)-2, last) {
		return nil
	}
	return slices.Clone(chain)
}

// findSteps finds, among calls, the calls of steps[:i+1] before next (the
// call of step i+1), setting them in chain; it reports whether it did.
func findSteps(s *Session, steps []rules.Step, calls, chain []*Call, i int, next *Call) bool {
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
		if findSteps(s, steps, calls, chain, i-1, c) {
			return true
		}
	}
	return false
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
