package textscan

import (
	"regexp"
	"slices"
	"strings"

	"github.com/mcptrail/mcptrail/detector/textscan/prefilter"
)

// Injection scores, from InjectionScore.
const (
	// InjectionStrong is the score from which text is treated as a prompt
	// injection on its own.
	InjectionStrong = 3.0
	// InjectionWeak is the score from which text is suspicious: an
	// injection only if the agent then acts on it.
	InjectionWeak = 1.0
)

// signal is one kind of evidence that text addresses the model rather than
// the reader. Each signal counts once per text, whatever the number of
// matches, so long documents do not score by length.
type signal struct {
	name   string
	weight float64
	// triggers are lower-case substrings one of which every match holds:
	// in long texts the expression runs only on windows around them.
	triggers []string
	// expr is the expression, run on lower-cased text.
	expr string
}

// The patterns describe how injected instructions are written (overriding
// earlier instructions, addressing the model, claiming authority, framing
// themselves as a separate message, directing tool use, asking for
// secrecy), not any particular attack's wording.
var signals = []signal{
	{"override_instructions", 3, []string{"ignore", "disregard", "forget", "override", "bypass", "skip"}, `\b(ignore|disregard|forget|override|bypass|skip)\b[^.!?\n]{0,40}\b(previous|prior|above|earlier|preceding|original|all|any|your|the user'?s?|system)\b[^.!?\n]{0,30}\w{0,3}(instruct|nstruct|prompt|rule|guideline|direction|directive|constraint|context|task|order|command)\w*`},
	{"instead", 1, []string{"instead"}, `\b(do|perform|complete|execute|carry out|follow)\b[^\n]{1,300}\binstead\b|\binstead,? (you|please|do|send|make|write)\b`},
	{"task_marker", 1, []string{"todo", "to-do", "action", "next step", "pending task", "reminder"}, `(^|[\s>*#\-(\[])(todo|to-do|action required|action item|next step|pending task|reminder for (the )?(ai|assistant|agent))\s*[:\-]`},
	{"precedence", 2, []string{"before", "prior to", "original", "current", "actual", "real", "initial", "assigned", "gave", "give", "asked", "sent", "given", "after", "instead of"}, `\b(before|prior to) (you |we )?(can |could |may )?(solve|do|continue|proceed|complete|answer|finish|respond|start|begin|carry on|move on|get to)\b|\b(the|your) (original|current|actual|real|initial|assigned) (task|request|job|instructions?)\b|\b(task|request|instructions?) (that |which )?(i|the user|they|you were) (gave|give|asked|assigned|sent|given)\b|\bafter (you (do|did|have done|complete|finish)|doing|completing|finishing) (that|this|these|the above)\b|\binstead of (doing|answering|following|the)\b`},
	{"addresses_model", 1.5, []string{" ai", "a.i.", "assistant", "agent", "model", "llm", "bot", "gpt", "claude", "gemini", "llama", "copilot", "cursor", "mistral", "command"}, `\b(dear|hey|hi|hello|attention|note to|message (for|to)|instructions? (for|to)|directed at|this is for|to you,?)\W{0,3}(the )?(ai|a\.i\.|assistant|agent|model|llm|chatbot|bot|language model|gpt[\w.-]*|claude|gemini|llama|copilot|cursor|mistral|command[\w-]*)\b|\b(you are|you're|as) (an? |the )?(ai|assistant|language model|llm|agent|chatbot)\b|\b(ai|llm|assistant|agent|model)s?\W{0,3}(reading|processing|parsing|summari[sz]ing) (this|these)\b`},
	{"claims_authority", 1.5, []string{"important", "urgent", "critical", "mandatory", "required", "priority", "immediate", "compulsory", "system", "admin", "developer", "security", "root", "operator", "new ", "!!!", "strictly", "your "}, `\b(important|urgent|critical|mandatory|required|priority|immediate|compulsory)\s+(message|instructions?|notice|update|task|action|steps?|note|directive|request)\b|\b(system|admin|administrator|developer|security|root|operator)[\s_-]+(message|prompt|instructions?|notice|override|update|directive|mode)\b|\bnew (instructions?|task|directive|objective|goal)s?\b|!{3,}|\bstrictly (adhere|follow|comply)\b|\byour (new|real|true) (task|goal|objective|purpose)\b`},
	{"role_markers", 2, []string{"<", "[", "##", "begin", "end "}, `</?\s*(information|instructions?|system|important|admin|assistant|user|im_start|im_end|sys|inst|prompt|context|hidden|secret)\s*>|\[/?(inst|system|admin|sys)\]|#{2,}\s*\(?\s*(system|instructions?|admin|new task)|<\|[a-z_]+\|>|\b(begin|end) (of )?(system|hidden|secret) (prompt|instructions?|message)\b`},
	{"directs_tool_use", 1.5, []string{"tool", "function", "command", "api", "endpoint", "argument", "parameter", "param", "input"}, `\b(use|call|invoke|run|execute|trigger)\b (the |this |that )?(\x60[^\x60]{1,64}\x60 |\w+ )?(tool|function|command|api|endpoint)s?\b|\bwith (the )?(following|these) (arguments|parameters|params|inputs)\b|\b(tool|function) call\b`},
	// asks_secrecy: hiding something from the user (not telling, not
	// asking, keeping it secret, acting without their knowledge), not an
	// operation that "succeeds silently". Silently and quietly count only
	// before an order (silently forward ...) or after one (do it quietly).
	{"asks_secrecy", 2, []string{"not", "don", "never", "without", "secret", "covert", "silent", "quiet", "no need", "keep", "hide", "conceal", "user", "discreet"}, `\b(do not|don'?t|never|without)\s+(tell(ing)?|inform(ing)?|mention(ing)?|notify(ing)?|alert(ing)?|reveal(ing)?|disclos(e|ing)|ask(ing)?|show(ing)?|let(ting)?)\b[^.!?\n]{0,30}\b(the )?(user|human|anyone|them|him|her|owner|operator)\b|\b(secretly|covertly)\b|\b(silently|quietly),? (and |then )?(send|forward|e-?mail|transfer|pay|post|upload|share|copy|move|write|save|add|append|attach|include|insert|delete|remove|change|update|grant|invite|export|publish|run|execute|call|invoke|create|read|fetch|collect|log|record|store|bcc|cc)\b|\b(do|perform|complete|execute|run|carry out|handle) (this|it|that|these|so|the (above|following)( steps?| actions?| tasks?)?) (silently|quietly|secretly|covertly|discreetly)\b|\bwithout (the user|the human|the owner|anyone|them|him|her)('s)? (knowing|noticing|seeing|finding out|knowledge|being (told|informed|notified|aware))\b|\bwithout (their|his|her) (knowledge|awareness)\b|\bno need to (mention|tell|inform|notify)\b|\bkeep (this|it|that|these|the (above|following))( \w+){0,2} (a )?(secret|hidden|confidential|private|between us)\b|\b(hide|conceal) (this|it|that|these|the (above|following))\b[^.!?\n]{0,30}\bfrom (the )?(user|human|owner|operator)\b|\bthe user (must|should|need|needs to|does|do|is)( not|n'?t)( to)? (know|find out|learn|notice|be (told|informed|notified|aware))\b`},
	{"second_person_order", 1, []string{"you "}, `\byou (must|should|need to|have to|are (required|instructed|asked|supposed|expected) to|will now|shall)\b`},
}

// imperativeStart matches a sentence or list item that begins with an
// action verb: an order rather than a statement.
const imperativeStart = `(?m)(^|[.!?:]\s+|>\s*|^\s*(\d+[.)]|[-*•])\s*)(please\s+)?(send|forward|e-?mail|transfer|pay|post|upload|share|invite|visit|go to|open|add|delete|remove|change|update|reset|grant|export|copy|concatenate|write|create|publish|make|move|read|fetch|download|get|list|find|run|execute|insert|select|drop|grant|include|attach|append)\b`

// signalSet holds the signals' expressions, at their indexes in signals,
// and imperativeStart after them (at imperativeIndex); its keywords are
// the signals' triggers, signal i's from triggerBase[i].
var (
	signalSet, triggerBase = newSignalSet()
	imperativeIndex        = len(signals)
)

func newSignalSet() (*prefilter.Set, []int) {
	res := make([]*regexp.Regexp, 0, len(signals)+1)
	var triggers []string
	base := make([]int, len(signals))
	for i, sg := range signals {
		res = append(res, regexp.MustCompile(sg.expr))
		base[i] = len(triggers)
		triggers = append(triggers, sg.triggers...)
	}
	res = append(res, regexp.MustCompile(imperativeStart))
	return prefilter.New(res, triggers...), base
}

// Injection is the result of scoring one text.
type Injection struct {
	// Score is the sum of the signals' weights; compare it with
	// InjectionStrong and InjectionWeak.
	Score float64
	// Signals are the names of the signals that matched, in a fixed order.
	Signals []string
	// Excerpt is the text around the first strong signal (or the first
	// match), at most ExcerptLen bytes.
	Excerpt string
	// Hidden is what HiddenChars found.
	Hidden Hidden
}

// ExcerptLen bounds the excerpts the detector keeps as evidence.
const ExcerptLen = 200

// InjectionScore scores s for instructions aimed at a language model.
// toolNames, if given, are the tools the session's servers offer: text
// returned by a tool that names other tools is directing the agent. The
// text a model sees is scored, hidden characters included (tag characters
// are decoded), and hiding text counts against it.
func InjectionScore(s string, toolNames []string) Injection {
	return ScoreText(s).With(toolNames)
}

// Scored is a text scored for instructions aimed at a model, for any tool
// names: ScoreText(s).With(toolNames) is InjectionScore(s, toolNames).
// Scoring one text for several sessions' tools costs one scoring.
type Scored struct {
	// base is the score without the names and orders signals.
	base Injection
	// lower is the visible text lower-cased (for the tool names); orders
	// tells whether it gives orders, when base has signals (orders count
	// only beside another signal: for a text with none, With asks when a
	// tool name gives it one).
	lower  string
	orders bool
}

// ScoreText scores s, except for the signals that depend on tool names.
func ScoreText(s string) *Scored { return Analyse(s).Score() }

// Analysis is one text lower-cased and scanned for the signals: its Score
// and its InstructionParts share the scan.
type Analysis struct {
	s      string
	hidden Hidden
	// visible is the text scored (s, or Reveal(s) when s hides
	// characters), lower the same lower-cased and hits its scan.
	visible, lower string
	hits           *prefilter.Hits
}

// Analyse lower-cases s (revealed if it hides characters) and scans it.
func Analyse(s string) *Analysis {
	a := &Analysis{s: s, hidden: HiddenChars(s), visible: s}
	if a.hidden.Any() {
		a.visible = Reveal(s)
	}
	a.lower = lowerASCII(a.visible)
	a.hits = signalSet.Scan(a.lower)
	return a
}

// Score is ScoreText(s) for the analysed text s.
func (a *Analysis) Score() *Scored {
	inj := Injection{Hidden: a.hidden}
	if inj.Hidden.Any() {
		for _, k := range []HiddenKind{HiddenTag, HiddenBidi, HiddenANSI, HiddenZeroWidth, HiddenControl} {
			if inj.Hidden.Counts[k] == 0 {
				continue
			}
			w := map[HiddenKind]float64{HiddenTag: 4, HiddenBidi: 2, HiddenANSI: 2, HiddenZeroWidth: 1.5, HiddenControl: 1}[k]
			inj.Score += w
			inj.Signals = append(inj.Signals, "hidden_"+string(k))
		}
	}
	lower, h := a.lower, a.hits
	first := -1
	for i := range signals {
		at := findSignal(h, i, 0, len(lower), nil)
		if at < 0 {
			continue
		}
		inj.Score += signals[i].weight
		inj.Signals = append(inj.Signals, signals[i].name)
		if first < 0 || (signals[i].weight >= 2 && at < first) {
			first = at
		}
	}
	if first < 0 {
		first = 0
	}
	inj.Excerpt = Excerpt(a.visible, first)
	sc := &Scored{base: inj, lower: lower}
	if len(inj.Signals) > 0 {
		sc.orders = h.Match(imperativeIndex)
	}
	return sc
}

// Revealed returns Reveal(s) for the analysed text s.
func (a *Analysis) Revealed() string {
	if a.hidden.Any() {
		return a.visible
	}
	return Reveal(a.s)
}

// InstructionParts is InstructionParts(a.Revealed(), parts), sharing the
// scan when the revealed text is the text scored.
func (a *Analysis) InstructionParts(parts [][2]int) []bool {
	r := a.Revealed()
	if r != a.visible {
		return InstructionParts(r, parts)
	}
	// A text that hides nothing is its own revealed text.
	hidden := a.hidden.Any() && HiddenChars(r).Any()
	return instructionParts(r, a.hits, hidden, parts)
}

// With returns the score of the text for a session offering toolNames.
func (sc *Scored) With(toolNames []string) Injection {
	inj := sc.base
	inj.Signals = slices.Clip(inj.Signals)
	if n := countTools(sc.lower, toolNames); n > 0 {
		inj.Score += 1.5
		inj.Signals = append(inj.Signals, "names_tools")
	}
	// Orders count only beside another signal: alone, a text of orders is
	// a to-do list or a manual, and half a point could not make it weak.
	if len(inj.Signals) > 0 && sc.givesOrders() {
		inj.Score++
		inj.Signals = append(inj.Signals, "orders")
	}
	return inj
}

// givesOrders reports whether the scored text gives orders.
func (sc *Scored) givesOrders() bool {
	if len(sc.base.Signals) > 0 {
		return sc.orders
	}
	// The text only scored by naming tools: rare, so it is scanned again.
	return signalSet.Scan(sc.lower).Match(imperativeIndex)
}

// InstructionParts reports, for each part [from, to) of s, whether the
// part on its own reads as addressed to a model or gives an order: what
// InjectionScore(part, nil).Score > 0 || GivesOrders(part) says, with s
// scanned once.
func InstructionParts(s string, parts [][2]int) []bool {
	return instructionParts(s, signalSet.Scan(lowerASCII(s)), HiddenChars(s).Any(), parts)
}

// instructionParts is InstructionParts with s scanned (h) and told whether
// it hides characters: if it does not, none of its parts does.
func instructionParts(s string, h *prefilter.Hits, hidden bool, parts [][2]int) []bool {
	// The spans of every signal share one allocation.
	n := 0
	for i := range signals {
		for k := range signals[i].triggers {
			n += len(h.Keyword(triggerBase[i] + k))
		}
	}
	all := make([]span, 0, n)
	triggers := make([][]span, len(signals))
	for i := range signals {
		from := len(all)
		all = appendTriggerSpans(all, h, i)
		triggers[i] = all[from:len(all):len(all)]
	}
	out := make([]bool, len(parts))
	for k, p := range parts {
		from, to := p[0], p[1]
		if hidden && HiddenChars(s[from:to]).Any() {
			out[k] = true
			continue
		}
		for i := range signals {
			if findSignal(h, i, from, to, triggers[i]) >= 0 {
				out[k] = true
				break
			}
		}
		out[k] = out[k] || h.MatchIn(imperativeIndex, from, to)
	}
	return out
}

// span is where a trigger occurs.
type span struct{ from, to int32 }

// appendTriggerSpans appends where the triggers of signal sig occur, by
// start.
func appendTriggerSpans(dst []span, h *prefilter.Hits, sig int) []span {
	from := len(dst)
	for k, t := range signals[sig].triggers {
		for _, at := range h.Keyword(triggerBase[sig] + k) {
			dst = append(dst, span{at, at + int32(len(t))})
		}
	}
	slices.SortFunc(dst[from:], func(a, b span) int { return int(a.from - b.from) })
	return dst
}

// within reports whether one of spans (by start) lies in [from, to).
func within(spans []span, from, to int) bool {
	k, _ := slices.BinarySearchFunc(spans, int32(from), func(s span, from int32) int { return int(s.from - from) })
	for ; k < len(spans) && int(spans[k].from) < to; k++ {
		if int(spans[k].to) <= to {
			return true
		}
	}
	return false
}

// GivesOrders reports whether s holds a sentence or list item that begins
// with an action verb.
func GivesOrders(s string) bool {
	lower := lowerASCII(s)
	return signalSet.Scan(lower).Match(imperativeIndex)
}

// countTools counts the tool names of at least five characters that s
// mentions as words.
func countTools(lower string, names []string) int {
	n := 0
	for _, name := range names {
		if len(name) < 5 {
			continue
		}
		if containsWord(lower, strings.ToLower(name)) {
			n++
		}
	}
	return n
}

// containsWord reports whether s holds w with no letter, digit or _ on
// either side.
func containsWord(s, w string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], w)
		if i < 0 {
			return false
		}
		i += off
		j := i + len(w)
		if (i == 0 || !wordByte(s[i-1])) && (j == len(s) || !wordByte(s[j])) {
			return true
		}
		off = i + 1
	}
}

func wordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// lowerASCII lower-cases the ASCII letters of s, keeping every byte
// offset.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 32
				}
			}
			return string(b)
		}
	}
	return s
}

// Bounds of the windowed search of signal.find.
const (
	windowBefore = 160
	windowAfter  = 240
	maxWindows   = 8
)

// findSignal returns where the first match of signal sig in lower[from:to]
// starts (an offset in lower), or -1. In long texts the expression runs
// only on windows around the first occurrences of its triggers (every
// match holds a trigger, and no match spans more than the window), so
// long texts cost a scan for the triggers, not a regular expression over
// all of them. h is lower scanned by signalSet; triggers, when given, are
// the signal's trigger spans (appendTriggerSpans).
func findSignal(h *prefilter.Hits, sig, from, to int, triggers []span) int {
	sg := &signals[sig]
	if to-from <= windowBefore+windowAfter {
		if triggers != nil {
			if within(triggers, from, to) {
				return h.Index(sig, from, to)
			}
			return -1
		}
		for k, t := range sg.triggers {
			if next(h.Keyword(triggerBase[sig]+k), from, to-len(t)) >= 0 {
				return h.Index(sig, from, to)
			}
		}
		return -1
	}
	best := -1
	for k, t := range sg.triggers {
		at := h.Keyword(triggerBase[sig] + k)
		for off, n := from, 0; n < maxWindows; n++ {
			i := next(at, off, to-len(t))
			if i < 0 {
				break
			}
			wfrom, wto := max(i-windowBefore, from), min(i+len(t)+windowAfter, to)
			if best >= 0 && wfrom >= best {
				// This window and the next ones start past the best match.
				break
			}
			if at := h.Index(sig, wfrom, wto); at >= 0 {
				if best < 0 || at < best {
					best = at
				}
				break
			}
			off = wto - len(t)
			if off <= i {
				off = i + 1
			}
		}
	}
	return best
}

// next returns the first of the increasing positions at that is in
// [from, last], or -1.
func next(at []int32, from, last int) int {
	k, _ := slices.BinarySearch(at, int32(from))
	if k < len(at) && int(at[k]) <= last {
		return int(at[k])
	}
	return -1
}

// Excerpt returns up to ExcerptLen bytes of s around offset at, cut at
// UTF-8 boundaries.
func Excerpt(s string, at int) string {
	start := max(at-40, 0)
	end := min(start+ExcerptLen, len(s))
	for start > 0 && start < len(s) && s[start]&0xC0 == 0x80 {
		start++
	}
	for end < len(s) && end > start && s[end]&0xC0 == 0x80 {
		end--
	}
	return s[start:end]
}
