package detector

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mcptrail/mcptrail/detector/textscan"
)

// Rule ids of the injection detections.
const (
	RuleInjectionResult  = "injection.tool-result"
	RuleInjectionHidden  = "injection.hidden-text"
	RuleFollowThrough    = "injection.follow-through"
	RuleInjectedToolCall = "injection.directed-tool-call"
)

// injection flags tool results that carry instructions aimed at the model,
// and later calls that act on them: arguments carrying values that first
// appeared in the injected text, or a call of a tool the text named.
type injection struct{}

func newInjection() *injection { return &injection{} }

// instructions is the part of a result text that holds instructions
// (instructionWindow), with its values and its lower-cased form.
type instructions struct {
	window, lower string
	values        []textscan.Value
	// named caches namedTools.
	named namesFilter
}

// namedTools returns the names in names, in their order, of at least
// five bytes that the instructions mention (in any case). namesHash
// identifies names (Session.toolNamesHash).
func (in *instructions) namedTools(names []string, namesHash uint64) []string {
	return in.named.filter(names, namesHash, func(name string) bool {
		return len(name) >= 5 && strings.Contains(in.lower, strings.ToLower(name))
	})
}

// instructionsOf returns (and keeps on t) the instructions of a result
// text.
func instructionsOf(t *leafText) *instructions {
	if t.instructions == nil {
		w := instructionWindow(t.scan())
		t.instructions = &instructions{window: w, lower: strings.ToLower(w), values: textscan.Values(nil, w)}
	}
	return t.instructions
}

func (d *injection) Observe(s *Session, o *Observation, emit Emit) {
	switch {
	case o.IsToolResult():
		d.injectionResult(s, o, emit)
	case o.IsCall():
		followThrough(s, o, emit)
	}
}

func (d *injection) injectionResult(s *Session, o *Observation, emit Emit) {
	c := o.Call
	inj := c.Injection
	if inj == nil || inj.Score < textscan.InjectionWeak {
		return
	}
	text := c.Result()[c.injectionLeaf].Text
	if inj.Hidden.Any() && s.once(RuleInjectionHidden, c.ID) {
		kinds := make([]string, 0, len(inj.Hidden.Counts))
		for k, n := range inj.Hidden.Counts {
			kinds = append(kinds, fmt.Sprintf("%s×%d", k, n))
		}
		slices.Sort(kinds)
		ev := Evidence{What: "hidden characters in a tool result: " + strings.Join(kinds, ", "), CallID: c.ID, Tool: c.Tool, Hash: hashString(text)}
		if inj.Hidden.Decoded != "" {
			ev.Excerpt = textscan.Excerpt(inj.Hidden.Decoded, 0)
		}
		emit(s.NewFinding(o.Event.TS, RuleInjectionHidden, High, "A tool result hides text from the user (invisible or escape characters)", []*Call{c}, []Evidence{ev}))
	}
	p := &Passage{Call: c, Injection: inj}
	in := instructionsOf(c.resultTexts()[c.injectionLeaf])
	for _, v := range in.values {
		if !s.SeenInArgs(v) {
			p.Values = append(p.Values, v)
		}
	}
	for _, name := range in.namedTools(s.ToolNames(), s.toolNamesHash) {
		if name != c.Tool {
			p.Tools = append(p.Tools, name)
		}
	}
	if len(s.Passages) < maxPassages {
		s.Passages = append(s.Passages, p)
	}
	if inj.Score >= textscan.InjectionStrong && s.once(RuleInjectionResult, c.ID) {
		emit(s.NewFinding(o.Event.TS, RuleInjectionResult, High, "A tool result carries instructions aimed at the model (prompt injection)", []*Call{c}, []Evidence{{
			What: "signals: " + strings.Join(inj.Signals, ", ") + fmt.Sprintf(" (score %.1f)", inj.Score), CallID: c.ID, Tool: c.Tool,
			Excerpt: inj.Excerpt, Hash: hashString(text),
		}}))
	}
}

// instructionWindow returns the part of the analysed text, revealed, that
// holds the instructions: from the first line (or sentence, in long lines)
// with an injection signal or an order to two lines past the last one. A result that embeds
// an injection among ordinary records gives only the injected part, so
// the ordinary values beside it are not taken for the attacker's.
func instructionWindow(a *textscan.Analysis) string {
	text := a.Revealed()
	segs := segments(text)
	first, last := -1, -1
	for i, in := range a.InstructionParts(segs) {
		if in {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return ""
	}
	var b strings.Builder
	for i, seg := range segs[first:min(last+3, len(segs))] {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(text[seg[0]:seg[1]])
	}
	return b.String()
}

// segments splits text into lines, and lines longer than 300 bytes into
// sentences: the spans of text they take.
func segments(text string) [][2]int {
	var out [][2]int
	for lineStart := 0; ; {
		lineEnd := strings.IndexByte(text[lineStart:], '\n')
		if lineEnd < 0 {
			lineEnd = len(text)
		} else {
			lineEnd += lineStart
		}
		if lineEnd-lineStart <= 300 {
			out = append(out, [2]int{lineStart, lineEnd})
		} else {
			start := lineStart
			for i := lineStart; i < lineEnd-1; i++ {
				if (text[i] == '.' || text[i] == '!' || text[i] == '?') && text[i+1] == ' ' {
					out = append(out, [2]int{start, i + 1})
					start = i + 2
				}
			}
			out = append(out, [2]int{start, lineEnd})
		}
		if lineEnd == len(text) {
			return out
		}
		lineStart = lineEnd + 1
	}
}

func followThrough(s *Session, o *Observation, emit Emit) {
	if len(s.Passages) == 0 {
		return
	}
	c := o.Call
	args := c.lowerArgText()
	for _, p := range s.Passages {
		if p.Call == c {
			continue
		}
		var carried []string
		for _, v := range p.Values {
			if len(v.Norm) >= 6 && strings.Contains(args, v.Norm) {
				carried = append(carried, v.Norm)
			}
		}
		named := slices.Contains(p.Tools, c.Tool)
		strong := p.Injection.Score >= textscan.InjectionStrong
		acts := c.Is("outbound") || c.Is("write")
		var sev Severity
		switch {
		case len(carried) > 0 && strong:
			sev = Critical
		case len(carried) > 0 && (acts || p.Injection.Score >= textscan.InjectionWeak):
			sev = High
		case named && strong:
			sev = High
		default:
			continue
		}
		rule, title := RuleFollowThrough, "A call carries values from instructions injected in an earlier tool result"
		if len(carried) == 0 {
			rule, title = RuleInjectedToolCall, "The agent calls a tool that injected instructions told it to use"
		}
		if !s.once(rule, c.ID) {
			continue
		}
		what := "injected text (score " + fmt.Sprintf("%.1f", p.Injection.Score) + ") in the result of " + p.Call.Tool
		if len(carried) > 0 {
			what += "; the call carries " + strings.Join(carried, ", ")
		} else {
			what += " names " + c.Tool
		}
		emit(s.NewFinding(o.Event.TS, rule, sev, title, []*Call{p.Call, c}, []Evidence{
			{What: what, CallID: p.Call.ID, Tool: p.Call.Tool, Excerpt: p.Injection.Excerpt},
			{What: "the call acting on it", CallID: c.ID, Tool: c.Tool, Excerpt: textscan.Excerpt(args, 0), Hash: hashString(args)},
		}))
		return
	}
}
