package textscan

import (
	"regexp"
	"strings"
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
	// the expression runs only on text that has one.
	triggers []string
	re       *regexp.Regexp
}

// The patterns describe how injected instructions are written (overriding
// earlier instructions, addressing the model, claiming authority, framing
// themselves as a separate message, directing tool use, asking for
// secrecy), not any particular attack's wording.
var signals = []signal{
	{"override_instructions", 3, []string{"ignore", "disregard", "forget", "override", "bypass", "skip"}, regexp.MustCompile(`\b(ignore|disregard|forget|override|bypass|skip)\b[^.!?\n]{0,40}\b(previous|prior|above|earlier|preceding|original|all|any|your|the user'?s?|system)\b[^.!?\n]{0,30}\w{0,3}(instruct|nstruct|prompt|rule|guideline|direction|directive|constraint|context|task|order|command)\w*`)},
	{"instead", 1, []string{"instead"}, regexp.MustCompile(`\b(do|perform|complete|execute|carry out|follow)\b[^\n]{1,300}\binstead\b|\binstead,? (you|please|do|send|make|write)\b`)},
	{"task_marker", 1, []string{"todo", "to-do", "action", "next step", "pending task", "reminder"}, regexp.MustCompile(`(^|[\s>*#\-(\[])(todo|to-do|action required|action item|next step|pending task|reminder for (the )?(ai|assistant|agent))\s*[:\-]`)},
	{"precedence", 2, []string{"before", "prior to", "original", "current", "actual", "real", "initial", "assigned", "gave", "give", "asked", "sent", "given", "after", "instead of"}, regexp.MustCompile(`\b(before|prior to) (you |we )?(can |could |may )?(solve|do|continue|proceed|complete|answer|finish|respond|start|begin|carry on|move on|get to)\b|\b(the|your) (original|current|actual|real|initial|assigned) (task|request|job|instructions?)\b|\b(task|request|instructions?) (that |which )?(i|the user|they|you were) (gave|give|asked|assigned|sent|given)\b|\bafter (you (do|did|have done|complete|finish)|doing|completing|finishing) (that|this|these|the above)\b|\binstead of (doing|answering|following|the)\b`)},
	{"addresses_model", 1.5, []string{" ai", "a.i.", "assistant", "agent", "model", "llm", "bot", "gpt", "claude", "gemini", "llama", "copilot", "cursor", "mistral", "command"}, regexp.MustCompile(`\b(dear|hey|hi|hello|attention|note to|message (for|to)|instructions? (for|to)|directed at|this is for|to you,?)\W{0,3}(the )?(ai|a\.i\.|assistant|agent|model|llm|chatbot|bot|language model|gpt[\w.-]*|claude|gemini|llama|copilot|cursor|mistral|command[\w-]*)\b|\b(you are|you're|as) (an? |the )?(ai|assistant|language model|llm|agent|chatbot)\b|\b(ai|llm|assistant|agent|model)s?\W{0,3}(reading|processing|parsing|summari[sz]ing) (this|these)\b`)},
	{"claims_authority", 1.5, []string{"important", "urgent", "critical", "mandatory", "required", "priority", "immediate", "compulsory", "system", "admin", "developer", "security", "root", "operator", "new ", "!!!", "strictly", "your "}, regexp.MustCompile(`\b(important|urgent|critical|mandatory|required|priority|immediate|compulsory)\s+(message|instructions?|notice|update|task|action|steps?|note|directive|request)\b|\b(system|admin|administrator|developer|security|root|operator)[\s_-]+(message|prompt|instructions?|notice|override|update|directive|mode)\b|\bnew (instructions?|task|directive|objective|goal)s?\b|!{3,}|\bstrictly (adhere|follow|comply)\b|\byour (new|real|true) (task|goal|objective|purpose)\b`)},
	{"role_markers", 2, []string{"<", "[", "##", "begin", "end "}, regexp.MustCompile(`</?\s*(information|instructions?|system|important|admin|assistant|user|im_start|im_end|sys|inst|prompt|context|hidden|secret)\s*>|\[/?(inst|system|admin|sys)\]|#{2,}\s*\(?\s*(system|instructions?|admin|new task)|<\|[a-z_]+\|>|\b(begin|end) (of )?(system|hidden|secret) (prompt|instructions?|message)\b`)},
	{"directs_tool_use", 1.5, []string{"tool", "function", "command", "api", "endpoint", "argument", "parameter", "param", "input"}, regexp.MustCompile(`\b(use|call|invoke|run|execute|trigger)\b (the |this |that )?(\x60[^\x60]{1,64}\x60 |\w+ )?(tool|function|command|api|endpoint)s?\b|\bwith (the )?(following|these) (arguments|parameters|params|inputs)\b|\b(tool|function) call\b`)},
	{"asks_secrecy", 2, []string{"not", "don", "never", "without", "secret", "silent", "quiet", "covert", "no need"}, regexp.MustCompile(`\b(do not|don'?t|never|without)\s+(tell(ing)?|inform(ing)?|mention(ing)?|notify(ing)?|alert(ing)?|reveal(ing)?|ask(ing)?|show(ing)?|let(ting)?)\b[^.!?\n]{0,20}\b(the )?(user|human|anyone|them|him|her|owner|operator)\b|\b(secretly|silently|quietly|covertly|without (the user|anyone) (knowing|noticing))\b|\bno need to (mention|tell|inform)\b`)},
	{"second_person_order", 1, []string{"you "}, regexp.MustCompile(`\byou (must|should|need to|have to|are (required|instructed|asked|supposed|expected) to|will now|shall)\b`)},
}

// imperativeStart matches a sentence or list item that begins with an
// action verb: an order rather than a statement.
var imperativeStart = regexp.MustCompile(`(?m)(^|[.!?:]\s+|>\s*|^\s*(\d+[.)]|[-*•])\s*)(please\s+)?(send|forward|e-?mail|transfer|pay|post|upload|share|invite|visit|go to|open|add|delete|remove|change|update|reset|grant|export|copy|concatenate|write|create|publish|make|move|read|fetch|download|get|list|find|run|execute|insert|select|drop|grant|include|attach|append)\b`)

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
	var inj Injection
	inj.Hidden = HiddenChars(s)
	visible := s
	if inj.Hidden.Any() {
		visible = Reveal(s)
		for _, k := range []HiddenKind{HiddenTag, HiddenBidi, HiddenANSI, HiddenZeroWidth, HiddenControl} {
			if inj.Hidden.Counts[k] == 0 {
				continue
			}
			w := map[HiddenKind]float64{HiddenTag: 4, HiddenBidi: 2, HiddenANSI: 2, HiddenZeroWidth: 1.5, HiddenControl: 1}[k]
			inj.Score += w
			inj.Signals = append(inj.Signals, "hidden_"+string(k))
		}
	}
	lower := lowerASCII(visible)
	first := -1
	for _, sg := range signals {
		loc := sg.find(lower)
		if loc == nil {
			continue
		}
		inj.Score += sg.weight
		inj.Signals = append(inj.Signals, sg.name)
		if first < 0 || (sg.weight >= 2 && loc[0] < first) {
			first = loc[0]
		}
	}
	if n := countTools(lower, toolNames); n > 0 {
		inj.Score += 1.5
		inj.Signals = append(inj.Signals, "names_tools")
	}
	// Orders count only beside another signal: alone, a text of orders is
	// a to-do list or a manual, and half a point could not make it weak.
	if len(inj.Signals) > 0 && imperativeStart.MatchString(lower) {
		inj.Score++
		inj.Signals = append(inj.Signals, "orders")
	}
	if first < 0 {
		first = 0
	}
	inj.Excerpt = Excerpt(visible, first)
	return inj
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

// find returns the first match of the signal in lower, or nil. The
// expression runs only on windows around the first occurrences of its
// triggers (every match holds a trigger, and no match spans more than the
// window), so long texts cost a scan for the triggers, not a regular
// expression over all of them.
func (sg *signal) find(lower string) []int {
	if len(lower) <= windowBefore+windowAfter {
		if !containsAny(lower, sg.triggers) {
			return nil
		}
		return sg.re.FindStringIndex(lower)
	}
	var best []int
	for _, t := range sg.triggers {
		for off, n := 0, 0; n < maxWindows; n++ {
			i := strings.Index(lower[off:], t)
			if i < 0 {
				break
			}
			i += off
			from, to := max(i-windowBefore, 0), min(i+len(t)+windowAfter, len(lower))
			if loc := sg.re.FindStringIndex(lower[from:to]); loc != nil {
				if at := []int{loc[0] + from, loc[1] + from}; best == nil || at[0] < best[0] {
					best = at
				}
				break
			}
			off = to - len(t)
			if off <= i {
				off = i + 1
			}
		}
	}
	return best
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// Imperatives returns the sentences of s that begin with an action verb,
// at most max of them: the orders a text gives.
func Imperatives(s string, max int) []string {
	var out []string
	for _, loc := range imperativeStart.FindAllStringIndex(lowerASCII(s), max) {
		end := loc[1]
		for end < len(s) && end-loc[0] < 400 && !strings.ContainsRune(".!?\n", rune(s[end])) {
			end++
		}
		out = append(out, s[loc[0]:end])
	}
	return out
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
