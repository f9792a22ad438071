package prefilter

import (
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
)

// testExprs exercise the analysis: alternations of literals, (?i) with
// the letters that fold to non-ASCII runes, anchors, word boundaries,
// classes, bounded and unbounded repeats, runs, and expressions with no
// literal at all.
var testExprs = []string{
	`\b(ignore|disregard|skip)\b[^.!?\n]{0,40}\b(previous|prior|all|the user'?s?)\b[^.!?\n]{0,30}\w{0,3}(instruct|prompt|task)\w*`,
	`\b(do|perform|carry out)\b[^\n]{1,30}\binstead\b|\binstead,? (you|please)\b`,
	`(^|[\s>*#\-(\[])(todo|to-do|action required|reminder for (the )?(ai|agent))\s*[:\-]`,
	`\b(the|your) (original|current) (task|instructions?)\b|\bafter (you (do|did)|doing) (that|this)\b`,
	`\b(dear|hi|note to)\W{0,3}(the )?(ai|a\.i\.|assistant|gpt[\w.-]*)\b|\b(ai|agent)s?\W{0,3}(reading|parsing) (this|these)\b`,
	`!{3,}|\bnew (instructions?|task)s?\b|\b(system|admin)[\s_-]+(message|prompt)\b`,
	`</?\s*(system|user|im_start)\s*>|\[/?(inst|sys)\]|#{2,}\s*\(?\s*(system|new task)|<\|[a-z_]+\|>`,
	`\byou (must|should|are (required|asked) to)\b`,
	`(?m)(^|[.!?:]\s+|>\s*|^\s*(\d+[.)]|[-*•])\s*)(please\s+)?(send|e-?mail|go to|get|add)\b`,
	`-----BEGIN (?:RSA |EC )?PRIVATE KEY(?: BLOCK)?-----`,
	`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`,
	`(?i)\bbearer\s+[A-Za-z0-9._~+/-]{20,}=*`,
	`(?i)\b(?:password|pwd|secret|api[_-]?key|ask|kick)\b\s*[:=]\s*['"]?[^\s'"]{6,}`,
	`[A-Za-z0-9+/]{20,}={0,2}|[A-Za-z0-9_-]{30,}`,
	`\b[0-9a-fA-F]{24,}\b`,
	`(?i)(?:^|[\s'"=:(/])(?:~|\$home|/home/[^/\s]+)?/?\.(?:ssh/(?:id_[a-z0-9]+|config)|env(?:\.[a-z]+)?\b)|\b\w+\.(?:pem|key)\b`,
	`(?i)(^|[_.-])(send|post|e?mails?|create_(pr|issue))($|[_.-])`,
	`(?i)^(get|list|searches)($|[\s_.-])`,
	`(?i)SKY|KISS|ſ|k`,
	`é+|[éè]x|caf(?i:É)`,
	`\Bing\b|\bre\B`,
	`a|b|`,
	`x*`,
	`^$`,
	`(?s)begin.*end`,
	`\Aabc|def\z`,
	`[^a]bc`,
	`(?U)a+?b`,
	`\x{FFFD}x|y\x{FFFD}`,
}

// TestAnchorsAlone checks a set whose expressions need no literal.
func TestAnchorsAlone(t *testing.T) {
	set := MustCompile(`(?m)^\s*x`, `^ab`)
	for _, s := range []string{"x", "  x", "a\n x", "ab", "b\nab", "\n\n\tx y"} {
		if err := set.Verify(s, [2]int{1, len(s)}); err != nil {
			t.Fatal(err)
		}
	}
}

// fragments are what generated texts are made of: pieces of the
// expressions above in several cases, and text that is not.
var fragments = []string{
	"ignore", "IGNORE", "Ignore", "disregard", "skip", "previous", "prior", "all", "the user's", "the users", "instructions", "prompt", "task",
	"do", "perform", "carry out", "instead", "Instead,", "you", "please", "todo", "TODO", "to-do", "action required", "reminder for", "the", "ai", "agent", ":", "-",
	"your", "original", "current", "after", "did", "doing", "that", "this", "dear", "hi", "note to", "a.i.", "assistant", "gpt-4o", "gpt", "reading", "parsing", "these",
	"!", "!!", "!!!", "new", "system", "admin", "message", "_", "<", "</", ">", "[", "]", "[inst]", "[/sys]", "#", "##", "(", "<|", "|>", "im_start", "user",
	"must", "should", "are", "required", "asked", "to", "send", "e-mail", "email", "go to", "get", "add", "1.", "2)", "*", "•", ".", "?",
	"-----BEGIN ", "RSA ", "PRIVATE KEY", "-----", " BLOCK", "AKIA", "ASIA", "ABCDEFGHIJKLMNOP", "0123456789ABCDEF", "bearer", "Bearer ", "abcdefghij0123456789",
	"password", "PASSWORD", "paſſword", "pwd", "secret", "api_key", "api-key", "ask", "aſk", "kick", "\u212aick", "KICK", "=", "'", "\"", "hunter22",
	"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", "0123456789abcdef0123456789abcdef", "deadbeef",
	"~", "$HOME", "/home/bob", "/", ".ssh", "/.ssh/id_rsa", "config", ".env", ".env.local", "key.pem", "server.KEY",
	"create_pr", "create_issue", "post", "mails", "search", "searches", "list", "sky", "SKY", "\u017fky", "kiss", "ſ", "k",
	"é", "É", "è", "café", "CAFÉ", "x", "ing", "sing", "re", "read", "a", "b", "c", "abc", "def", "bc", "ab", "begin", "end", "\ufffd", "\xff", "\xc3", "\xe2\x82",
	" ", " ", "  ", "\t", "\n", "\n\n", "\r\n", ",", ";", "0", "42", "Z", "z",
}

// genText joins random fragments.
func genText(r *rand.Rand) string {
	var b strings.Builder
	for n := r.IntN(24); n >= 0; n-- {
		b.WriteString(fragments[r.IntN(len(fragments))])
		if r.IntN(3) == 0 {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// testKeywords are keywords for the scans: some also literals of the
// expressions, some overlapping each other.
var testKeywords = []string{"ignore", "instead", "the", "he", "ai", "<", "you ", "!!", "secret", "é", "ſ"}

// testSet compiles testExprs with testKeywords.
func testSet() *Set {
	res := make([]*regexp.Regexp, len(testExprs))
	for i, e := range testExprs {
		res[i] = regexp.MustCompile(e)
	}
	return New(res, testKeywords...)
}

func TestIndexAgreesWithRegexp(t *testing.T) {
	set := testSet()
	r := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		s := genText(r)
		var windows [][2]int
		for range 3 {
			from := r.IntN(len(s) + 1)
			windows = append(windows, [2]int{from, from + r.IntN(len(s)-from+1)})
		}
		if err := set.Verify(s, windows...); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzIndex(f *testing.F) {
	set := testSet()
	r := rand.New(rand.NewPCG(3, 4))
	for range 64 {
		f.Add(genText(r), uint(r.Uint32()), uint(r.Uint32()))
	}
	f.Fuzz(func(t *testing.T, s string, a, b uint) {
		from := int(a % uint(len(s)+1))
		to := from + int(b%uint(len(s)-from+1))
		if err := set.Verify(s, [2]int{from, to}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestAnalysis checks what the analysis derives for a few expressions: the
// literals must be the ones a match needs, and nothing weaker than
// necessary.
func TestAnalysis(t *testing.T) {
	tests := []struct {
		expr      string
		wantFirst []string // the starts: "^" for a text start, "^m" for a line start, "\\b" before a word, then the literal
		wantCond  string   // when the expression has no selective first set
	}{
		{`\b(ignore|skip)\b\s+all`, []string{`\bignore…all`, `\bskip…all`}, ""},
		{`(^|[>#])todo:`, []string{"^", "#todo:", ">todo:"}, ""},
		{`(?m)^\s*send|[.!]\s+send`, []string{"!…send", ".…send", "^m…send"}, ""},
		{`(?i)\b(urgent|new)\s+(task|note)s?\b`, []string{`\bnew…note|task`, `\burgent…note|task`}, ""},
		{`(?i)secret\s*=`, []string{"secret…="}, ""},
		{`x{3,}y`, []string{"xxx"}, ""},
		{`\w+@\w+\.com`, nil, `".com"`},
		{`[a-z]{16,}`, nil, `run{16}`},
		{`.*`, nil, `*`},
	}
	for _, tt := range tests {
		set := MustCompile(tt.expr)
		e := set.exprs[0]
		follows := func(f *follow) string {
			if f == nil || !f.ok {
				return ""
			}
			return "…" + strings.Join(f.lits, "|")
		}
		var first []string
		if e.textStart {
			first = append(first, "^")
		}
		if e.lineStart {
			first = append(first, "^m"+follows(e.lineFollow))
		}
		for id, fs := range set.firstOf {
			for _, f := range fs {
				first = append(first, [...]string{"", `\b`, "^m", "^"}[f.at]+set.lits[id]+follows(f.follow))
			}
		}
		slices.Sort(first)
		slices.Sort(tt.wantFirst)
		if e.starts != (tt.wantFirst != nil) || strings.Join(first, ",") != strings.Join(tt.wantFirst, ",") {
			t.Errorf("%s: starts %v %q, want %q", tt.expr, e.starts, first, tt.wantFirst)
		}
		if !e.starts && e.cond.String() != tt.wantCond {
			t.Errorf("%s: cond %s, want %s", tt.expr, e.cond, tt.wantCond)
		}
	}
}

func TestMaxLen(t *testing.T) {
	for expr, want := range map[string]int{
		`abc`: 3, `(?i)k`: 3, `[a-z]{2,4}`: 4, `[a-zé]{2}`: 4, `a|bcd`: 3, `a*`: -1, `\bx\b`: 1, `.`: 4, `é`: 2, `(ab){3}`: 6,
	} {
		re, err := syntax.Parse(expr, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if got := maxLen(re); got != want {
			t.Errorf("maxLen(%s) = %d, want %d", expr, got, want)
		}
	}
}
