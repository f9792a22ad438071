package prefilter

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"unicode/utf8"

	ahocorasick "github.com/BobuSumisu/aho-corasick"
)

// Set is a group of regular expressions that run on the same texts. One
// Scan of a text finds, in a single pass, the literals every expression
// needs; each expression then runs only where a match can start.
type Set struct {
	exprs []expr
	// lits are the literals to find (lower-cased); firstOf lists, per
	// literal, the expressions whose matches can start with it.
	lits    []string
	firstOf [][]firstLit
	runs    []runAtom
	// classes are the run classes of the probes' bounds.
	classes []byteSet
	trie    *ahocorasick.Trie
	// keywords are the keywords; keywordOf lists, per literal, the
	// keywords it is.
	keywords  []string
	keywordOf [][]int32
}

// expr is one expression of a Set.
type expr struct {
	re *regexp.Regexp
	// at0 and atN match re at the start of their input: at0 where that is
	// the start of the searched text, atN one rune further (the rune gives
	// the context re's assertions look at).
	at0, atN *regexp.Regexp
	// maxLen bounds the bytes a match spans (-1: no bound).
	maxLen int
	// probe0 and probeN are at0 and atN for the probe of re (see probe):
	// they match where at0 and atN do, and they decide it on at most
	// probeFixed bytes plus, per run class of the Set, probeRuns times its
	// longest run in the text (when probeBounded).
	probe0, probeN *regexp.Regexp
	probeBounded   bool
	probeFixed     int
	probeRuns      []classRun
	// When starts is set, every match starts at a literal of firstLits
	// (see firstLit), at the start of the text (textStart) or at the start
	// of a line (lineStart, then followed by lineFollow when set).
	starts               bool
	textStart, lineStart bool
	lineFollow           *follow
	// cond holds in the lower-cased text of any text the expression
	// matches: an expression whose starts are known runs only on texts
	// where it holds too.
	cond *cond
	// skippedFold: the literals leave out U+017F and U+212A, which (?i)
	// matches as s and k; a text holding either is searched unfiltered.
	skippedFold bool
}

// classRun is a run class of a Set, by index, and how many times its
// longest run counts.
type classRun struct {
	class int32
	times int32
}

// firstLit is one literal an expression's matches can start with, where
// (anywhere, at the start of a word, or at the start of a line), and what
// follows it when known.
type firstLit struct {
	expr   int32
	at     anchor
	follow *follow
}

// New returns the Set of the given expressions, compiled by regexp.Compile
// or regexp.MustCompile (not the POSIX variants); their indexes in the Set
// are their positions in res. An expression the analysis cannot use runs
// unfiltered. A scan also finds every occurrence of the keywords in the
// lower-cased text (see Hits.Keyword).
func New(res []*regexp.Regexp, keywords ...string) *Set {
	set := &Set{exprs: make([]expr, len(res)), keywords: keywords}
	litID := map[string]int32{}
	addLit := func(s string) int32 {
		if id, ok := litID[s]; ok {
			return id
		}
		id := int32(len(set.lits))
		litID[s] = id
		set.lits = append(set.lits, s)
		set.firstOf = append(set.firstOf, nil)
		return id
	}
	for i, re := range res {
		e := &set.exprs[i]
		e.re, e.cond, e.maxLen = re, condAll, -1
		src := re.String()
		tree, err := syntax.Parse(src, syntax.Perl)
		if err != nil {
			continue
		}
		var a analyzer
		x := a.analyze(tree)
		closeAll(x.pieces, true)
		first := shrink(x.pieces)
		if startsKnown(first) && selective(first) {
			e.at0, err = regexp.Compile(`^(?:` + src + `)`)
			if err == nil {
				e.atN, err = regexp.Compile(`^(?s:.)(?:` + src + `)`)
			}
			if err == nil {
				err = set.addProbe(e, src, tree)
			}
			if err == nil {
				e.starts, e.maxLen = true, maxLen(tree)
				for _, p := range first {
					switch {
					case p.at == anchorText:
						e.textStart = true
					case p.at == anchorLine && p.s == "":
						e.lineStart, e.lineFollow = true, p.follow
					default:
						id := addLit(p.s)
						set.firstOf[id] = append(set.firstOf[id], firstLit{expr: int32(i), at: p.at, follow: p.follow})
					}
				}
				e.skippedFold = a.skippedFold
				e.cond = x.cond
				set.numberAtoms(e.cond, addLit)
				continue
			}
		}
		e.cond, e.skippedFold = x.cond, a.skippedFold
		set.numberAtoms(e.cond, addLit)
	}
	for k, kw := range keywords {
		if kw == "" {
			continue
		}
		id := addLit(kw)
		for int(id) >= len(set.keywordOf) {
			set.keywordOf = append(set.keywordOf, nil)
		}
		set.keywordOf[id] = append(set.keywordOf[id], int32(k))
	}
	for len(set.keywordOf) < len(set.lits) {
		set.keywordOf = append(set.keywordOf, nil)
	}
	if len(set.lits) > 0 {
		set.trie = ahocorasick.NewTrieBuilder().AddStrings(set.lits).Build()
	}
	return set
}

// addProbe sets the probe of e (see probe), of the expression src parsed
// as tree.
func (set *Set) addProbe(e *expr, src string, tree *syntax.Regexp) error {
	p := probe(tree)
	e.probe0, e.probeN = e.at0, e.atN
	if p != tree {
		ps := p.String()
		var err error
		if e.probe0, err = regexp.Compile(`^(?:` + ps + `)`); err != nil {
			return err
		}
		if e.probeN, err = regexp.Compile(`^(?s:.)(?:` + ps + `)`); err != nil {
			return err
		}
	}
	b, ok := boundOf(p)
	if !ok {
		return nil
	}
	e.probeBounded, e.probeFixed = true, b.fixed
	for _, r := range b.runs {
		k := slices.Index(set.classes, r.set)
		if k < 0 {
			k = len(set.classes)
			set.classes = append(set.classes, r.set)
		}
		e.probeRuns = append(e.probeRuns, classRun{class: int32(k), times: int32(r.times)})
	}
	return nil
}

// MustCompile compiles the expressions (Go RE2 syntax) into a Set; it
// panics when one does not compile.
func MustCompile(exprs ...string) *Set {
	res := make([]*regexp.Regexp, len(exprs))
	for i, src := range exprs {
		res[i] = regexp.MustCompile(src)
	}
	return New(res)
}

// numberAtoms gives the atoms of c their ids.
func (set *Set) numberAtoms(c *cond, addLit func(string) int32) {
	switch c.op {
	case opLit:
		c.id = int(addLit(c.lit))
	case opRun:
		c.id = len(set.runs)
		set.runs = append(set.runs, c.run)
	case opAnd, opOr:
		for _, s := range c.subs {
			set.numberAtoms(s, addLit)
		}
	}
}

// selective reports whether a first set narrows the places to try: every
// member is anchored at a text or line start, or is a string of two bytes
// or more, or one byte that is neither a letter, a digit nor a space.
func selective(ps []piece) bool {
	for _, p := range ps {
		if p.at >= anchorLine || len(p.s) >= 2 {
			continue
		}
		if p.s == "" {
			return false
		}
		if c := p.s[0]; isWordByte(c) || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Literals returns the strings the set looks for in a text (lower-cased),
// and those it checks after them: the pieces its expressions' matches are
// made of. Tests build texts out of them.
func (set *Set) Literals() []string {
	out := slices.Clone(set.lits)
	for _, fs := range set.firstOf {
		for _, f := range fs {
			if f.follow != nil {
				out = append(out, f.follow.lits...)
			}
		}
	}
	for i := range set.exprs {
		if f := set.exprs[i].lineFollow; f != nil {
			out = append(out, f.lits...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Len is the number of expressions in the set.
func (set *Set) Len() int { return len(set.exprs) }

// Regexp returns expression i as the regexp package compiled it.
func (set *Set) Regexp(i int) *regexp.Regexp { return set.exprs[i].re }
