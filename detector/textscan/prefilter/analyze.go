package prefilter

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of the analysis. Past them it gives up precision, never
// correctness: a set too large to enumerate is cut to shorter prefixes, or
// becomes "anything".
const (
	// maxPieces bounds the strings of a set.
	maxPieces = 256
	// maxPieceLen bounds a string a match is known to start with: longer
	// ones are cut (a prefix of a prefix is still a prefix).
	maxPieceLen = 10
	// maxExactLen bounds a string a node is known to match exactly.
	maxExactLen = 64
	// minAtomLen is the shortest literal worth a condition atom.
	minAtomLen = 2
	// maxAtomLen bounds a condition atom (a substring of a required string
	// is required too).
	maxAtomLen = 12
	// minRun is the shortest repetition of a character class that becomes
	// a run atom.
	minRun = 16
)

// anchor is an assertion a match starts with, weakest first.
type anchor uint8

const (
	anchorNone anchor = iota
	anchorWord        // \b: the string starts a word (when it starts with a word character)
	anchorLine        // (?m)^: the start of the text or of a line
	anchorText        // ^ or \A: the start of the searched text
)

// piece is how a match of a node can begin: with s, the bytes it has in
// the lower-cased text (ASCII letters lowered, see Lower), at a place
// where at holds. When exact is set the match is s, else s is a prefix of
// it (and "" means "anything"); an inexact piece may say what comes after
// s (follow).
type piece struct {
	s      string
	at     anchor
	exact  bool
	follow *follow
}

// follow is what comes after a piece's string when the expression goes
// on with a repeated class (such as \s*): any number of bytes of skip,
// then one of lits (each a prefix of what follows). While open, the
// concatenations around it add to acc, how the rest begins; once closed,
// ok tells whether lits say anything.
type follow struct {
	skip byteSet
	// lits are sorted, and none is a prefix of another; skipFirst is set
	// when one starts with a skip byte.
	lits      []string
	skipFirst bool
	ok        bool
	closed    bool
	acc       []piece
}

// unknown is the set of a node nothing is known of.
var unknown = []piece{{}}

// info is what the analysis knows of one node of an expression.
type info struct {
	// pieces are how every match begins (see piece).
	pieces []piece
	// cond holds in the lower-cased text of every match.
	cond *cond
}

// exact reports whether every match of the node is one of its pieces.
func (x info) exact() bool { return allExact(x.pieces) }

func allExact(ps []piece) bool {
	for _, p := range ps {
		if !p.exact {
			return false
		}
	}
	return true
}

func exactInfo(ps []piece) info {
	ps = dedupe(ps)
	return info{pieces: ps, cond: piecesCond(ps)}
}

var anything = info{pieces: unknown, cond: condAll}

// analyzer derives the info of an expression.
type analyzer struct {
	// skippedFold is set when a (?i) literal could match a non-ASCII form
	// the sets leave out (see runeImages).
	skippedFold bool
}

// analyze derives the info of a parsed (not simplified) expression.
func (a *analyzer) analyze(re *syntax.Regexp) info {
	switch re.Op {
	case syntax.OpNoMatch:
		return info{cond: condNone}
	case syntax.OpEmptyMatch, syntax.OpEndText, syntax.OpEndLine, syntax.OpNoWordBoundary:
		return exactInfo([]piece{{exact: true}})
	case syntax.OpWordBoundary:
		return exactInfo([]piece{{at: anchorWord, exact: true}})
	case syntax.OpBeginText:
		return exactInfo([]piece{{at: anchorText, exact: true}})
	case syntax.OpBeginLine:
		return exactInfo([]piece{{at: anchorLine, exact: true}})
	case syntax.OpLiteral:
		return a.literalInfo(re)
	case syntax.OpCharClass:
		images, ok := classImages(re.Rune)
		if !ok {
			return anything
		}
		ps := make([]piece, len(images))
		for i, s := range images {
			ps[i] = piece{s: s, exact: true}
		}
		return exactInfo(ps)
	case syntax.OpCapture:
		return a.analyze(re.Sub[0])
	case syntax.OpQuest:
		return a.repeatInfo(re.Sub[0], 0, 1)
	case syntax.OpStar:
		return a.repeatInfo(re.Sub[0], 0, -1)
	case syntax.OpPlus:
		return a.repeatInfo(re.Sub[0], 1, -1)
	case syntax.OpRepeat:
		return a.repeatInfo(re.Sub[0], re.Min, re.Max)
	case syntax.OpConcat:
		return a.concatInfo(re.Sub)
	case syntax.OpAlternate:
		return a.alternateInfo(re.Sub)
	}
	// OpAnyChar, OpAnyCharNotNL and anything new: no knowledge.
	return anything
}

// literalInfo: a literal matches its runes, each as any member of its case
// folding orbit under (?i).
func (a *analyzer) literalInfo(re *syntax.Regexp) info {
	acc := []piece{{exact: true}}
	for _, r := range re.Rune {
		images, ok := a.runeImages(r, re.Flags&syntax.FoldCase != 0)
		if !ok {
			return withCond(inexact(acc))
		}
		next := cross(acc, images)
		if !allExact(next) {
			// Too many or too long: what the runes so far say.
			return withCond(next)
		}
		acc = next
	}
	return exactInfo(acc)
}

// withCond returns the info of a node known only by how its matches begin.
func withCond(ps []piece) info {
	ps = dedupe(ps)
	return info{pieces: ps, cond: piecesCond(ps)}
}

// runeImages returns the lower-cased UTF-8 forms r can match as. Under
// (?i) an ASCII letter's orbit also holds U+017F (ſ) or U+212A (K); those
// are left out, and a text that holds them is searched without the
// filters (see Hits.folds).
func (a *analyzer) runeImages(r rune, fold bool) ([]piece, bool) {
	if r == utf8.RuneError || !utf8.ValidRune(r) {
		// U+FFFD also matches an invalid byte, whose form is unknown.
		return nil, false
	}
	out := []piece{{s: Lower(string(r)), exact: true}}
	if fold {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f == utf8.RuneError {
				return nil, false
			}
			if f >= utf8.RuneSelf && r < utf8.RuneSelf {
				a.skippedFold = true
				continue
			}
			out = append(out, piece{s: Lower(string(f)), exact: true})
		}
	}
	return dedupe(out), true
}

// classImages returns the lower-cased forms of the runes of a class, or
// false when there are too many (or U+FFFD, which stands for invalid bytes).
func classImages(ranges []rune) ([]string, bool) {
	n := 0
	for i := 0; i < len(ranges); i += 2 {
		n += int(ranges[i+1]-ranges[i]) + 1
		if n > maxPieces {
			return nil, false
		}
	}
	var out []string
	for i := 0; i < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			if r == utf8.RuneError || !utf8.ValidRune(r) {
				return nil, false
			}
			out = append(out, Lower(string(r)))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), true
}

func (a *analyzer) repeatInfo(sub *syntax.Regexp, min, max int) info {
	x := a.analyze(sub)
	if max != 1 {
		// After a copy may come another: what follows is not known.
		closeAll(x.pieces, false)
	}
	if min == 0 {
		// Empty, or one or more copies.
		ps := []piece{{exact: true}}
		if max == 1 {
			ps = append(ps, x.pieces...)
		} else {
			ps = append(ps, inexact(nonEmpty(x.pieces))...)
		}
		return info{pieces: dedupe(ps), cond: condAll}
	}
	// min copies, then maybe more.
	acc := []piece{{exact: true}}
	for range min {
		acc = cross(acc, x.pieces)
	}
	if max != min {
		acc = inexact(acc)
	}
	c := and(x.cond, piecesCond(acc))
	if min >= minRun && sub.Op == syntax.OpCharClass {
		if set, ok := asciiSet(sub.Rune); ok {
			c = and(c, &cond{op: opRun, run: runAtom{set: set, min: min}})
		}
	}
	return info{pieces: dedupe(acc), cond: c}
}

func (a *analyzer) concatInfo(subs []*syntax.Regexp) info {
	var conds []*cond
	// acc is how a match begins, built child by child; run is the exact
	// strings of the current run of exact children, for the condition.
	acc := []piece{{exact: true}}
	run := []piece{{exact: true}}
	// opens are the follows still gathering how the rest goes on.
	var opens []*follow
	for _, sub := range subs {
		x := a.analyze(sub)
		conds = append(conds, x.cond)
		for _, f := range opens {
			f.acc = cross(f.acc, x.pieces)
		}
		switch skip, isSkip := skipClass(sub); {
		case isSkip && anyExact(acc) && startsKnown(acc):
			f := &follow{skip: skip, acc: []piece{{exact: true}}}
			acc = withFollow(acc, f)
			opens = append(opens, f)
		case wide(x.pieces) && long(acc):
			// One of many characters adds little to strings that already
			// say much: stop (and keep the sets small).
			acc = inexact(acc)
		default:
			acc = cross(acc, x.pieces)
		}
		opens = appendOpen(opens, x.pieces)
		if x.exact() {
			if next := cross(run, x.pieces); allExact(next) {
				run = next
				continue
			}
		}
		conds = append(conds, piecesCond(run))
		run = []piece{{exact: true}}
		if x.exact() {
			run = x.pieces
		}
	}
	conds = append(conds, piecesCond(run), piecesCond(acc))
	return info{pieces: dedupe(acc), cond: and(conds...)}
}

// appendOpen adds the open follows of ps to opens.
func appendOpen(opens []*follow, ps []piece) []*follow {
	for _, p := range ps {
		if f := p.follow; f != nil && !f.closed && !slices.Contains(opens, f) {
			opens = append(opens, f)
		}
	}
	return opens
}

// closeAll closes the open follows of ps, as known so far (finish) or as
// saying nothing (when what comes next is unknown: a repetition may go on
// with another copy).
func closeAll(ps []piece, finish bool) {
	for _, p := range ps {
		if f := p.follow; f != nil && !f.closed {
			if finish {
				f.finish()
			}
			f.closed, f.acc = true, nil
		}
	}
}

// skipClass reports whether re repeats one class of single ASCII bytes
// (\s*, [ \t]+, ...), and the class's lower-cased bytes.
func skipClass(re *syntax.Regexp) (byteSet, bool) {
	switch re.Op {
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		if re.Sub[0].Op == syntax.OpCharClass {
			return asciiSet(re.Sub[0].Rune)
		}
	}
	return byteSet{}, false
}

func anyExact(ps []piece) bool {
	for _, p := range ps {
		if p.exact {
			return true
		}
	}
	return false
}

// withFollow ends the exact members of ps: they go on with f.
func withFollow(ps []piece, f *follow) []piece {
	out := make([]piece, len(ps))
	for i, p := range ps {
		if p.exact {
			p.exact, p.follow = false, f
		}
		out[i] = p
	}
	return out
}

// finish turns how the rest begins into the literals of the follow.
func (f *follow) finish() {
	acc := f.acc
	if len(acc) == 0 || len(acc) > maxPieces {
		return
	}
	lits := make([]string, 0, len(acc))
	for _, p := range acc {
		if p.s == "" {
			return
		}
		lits = append(lits, p.s[:min(len(p.s), maxPieceLen)])
	}
	slices.Sort(lits)
	lits = slices.Compact(lits)
	// A literal that starts with another says nothing more.
	kept := lits[:0]
	for _, l := range lits {
		if n := len(kept); n == 0 || !strings.HasPrefix(l, kept[n-1]) {
			kept = append(kept, l)
		}
	}
	f.lits, f.ok = kept, true
	for _, l := range kept {
		f.skipFirst = f.skipFirst || f.skip.has(l[0])
	}
}

func (a *analyzer) alternateInfo(subs []*syntax.Regexp) info {
	var ps []piece
	conds := make([]*cond, len(subs))
	for i, sub := range subs {
		x := a.analyze(sub)
		conds[i] = x.cond
		ps = append(ps, x.pieces...)
	}
	ps = dedupe(ps)
	for n := maxExactLen; len(ps) > maxPieces && n > 0; n /= 2 {
		ps = cut(ps, n)
	}
	if len(ps) > maxPieces {
		ps = unknown
	}
	return info{pieces: ps, cond: or(conds...)}
}

// cross returns how a match of a node followed by another begins, given
// how each begins: an exact a followed by any b, and every inexact a as it
// is. Past the bounds, the a alone (inexact).
func cross(as, bs []piece) []piece {
	n := 0
	for _, a := range as {
		if a.exact {
			n += len(bs)
		} else {
			n++
		}
	}
	if n > maxPieces {
		return inexact(as)
	}
	out := make([]piece, 0, n)
	for _, a := range as {
		if !a.exact {
			out = append(out, a)
			continue
		}
		for _, b := range bs {
			at := a.at
			if a.s == "" {
				// Both assertions hold at the start: keep the stronger.
				at = max(a.at, b.at)
			}
			p := piece{s: a.s + b.s, at: at, exact: b.exact, follow: b.follow}
			if len(p.s) > maxExactLen {
				p.s, p.exact, p.follow = p.s[:maxExactLen], false, nil
			}
			out = append(out, p)
		}
	}
	return dedupe(out)
}

// wide reports whether ps are many single characters (a class such as \s).
func wide(ps []piece) bool {
	for _, p := range ps {
		if len(p.s) > 1 {
			return false
		}
	}
	return len(ps) >= 4
}

// long reports whether every string an exact member of ps goes on from is
// at least three bytes.
func long(ps []piece) bool {
	for _, p := range ps {
		if p.exact && len(p.s) < 3 {
			return false
		}
	}
	return true
}

// inexact returns ps as prefixes.
func inexact(ps []piece) []piece {
	out := make([]piece, len(ps))
	for i, p := range ps {
		p.exact = false
		out[i] = p
	}
	return dedupe(out)
}

// nonEmpty drops the exact empty match from ps.
func nonEmpty(ps []piece) []piece {
	return slices.DeleteFunc(slices.Clone(ps), func(p piece) bool { return p.exact && p.s == "" && p.at == anchorNone })
}

// cut cuts the strings of ps to n bytes (as prefixes).
func cut(ps []piece, n int) []piece {
	out := make([]piece, len(ps))
	for i, p := range ps {
		if len(p.s) > n {
			p.s, p.exact, p.follow = p.s[:n], false, nil
		}
		out[i] = p
	}
	return dedupe(out)
}

// startsKnown reports whether a set says where a match starts: every
// member is a non-empty string or starts at the start of the text or of a
// line.
func startsKnown(ps []piece) bool {
	for _, p := range ps {
		if p.s == "" && p.at < anchorLine {
			return false
		}
	}
	return len(ps) > 0
}

// shrink normalizes a set for finding where matches start: strings are cut
// to maxPieceLen, a word anchor stays only before a word character, and
// members another one finds every place of go.
func shrink(ps []piece) []piece {
	out := make([]piece, 0, len(ps))
	for _, p := range ps {
		if p.at == anchorWord && (p.s == "" || !isWordByte(p.s[0])) {
			p.at = anchorNone
		}
		if len(p.s) > maxPieceLen {
			p.s, p.follow = p.s[:maxPieceLen], nil
		}
		if p.follow != nil && !p.follow.ok {
			p.follow = nil
		}
		p.exact = false
		out = append(out, p)
	}
	out = dedupe(out)
	kept := make([]piece, 0, len(out))
	for _, p := range out {
		if !subsumed(p, out) {
			kept = append(kept, p)
		}
	}
	return kept
}

// subsumed reports whether another member of ps finds every place p does:
// a prefix of p.s needing no more of the place than p.
func subsumed(p piece, ps []piece) bool {
	for _, q := range ps {
		if q != p && q.follow == nil && strings.HasPrefix(p.s, q.s) && (q.at == anchorNone || q.at == p.at) && (q.s != "" || q.at >= anchorLine) {
			return true
		}
	}
	return false
}

// isWordByte reports whether c is an ASCII word character (what \b looks
// at).
func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// dedupe sorts ps and drops repeats.
func dedupe(ps []piece) []piece {
	slices.SortFunc(ps, func(a, b piece) int {
		if c := strings.Compare(a.s, b.s); c != 0 {
			return c
		}
		if a.at != b.at {
			return int(a.at) - int(b.at)
		}
		if a.exact != b.exact {
			if a.exact {
				return 1
			}
			return -1
		}
		return 0
	})
	out := ps[:0]
	for _, p := range ps {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// asciiSet returns the lower-cased forms of a class as a byte set when
// they are all single ASCII bytes.
func asciiSet(ranges []rune) (byteSet, bool) {
	var set byteSet
	for i := 0; i < len(ranges); i += 2 {
		if ranges[i+1] >= utf8.RuneSelf {
			return set, false
		}
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			c := byte(r)
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			set.add(c)
		}
	}
	return set, true
}

// Lower lower-cases the ASCII letters of s and keeps every other byte, so
// that byte offsets stay the same: the form the filters look at.
func Lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// maxLen returns the most bytes a match of re can span, or -1 when there
// is no bound.
func maxLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		n := 0
		for _, r := range re.Rune {
			l := utf8.RuneLen(r)
			if re.Flags&syntax.FoldCase != 0 {
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					l = max(l, utf8.RuneLen(f))
				}
			}
			n += max(l, 1)
		}
		return n
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return 0
		}
		return max(utf8.RuneLen(min(re.Rune[len(re.Rune)-1], unicode.MaxRune)), 1)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return utf8.UTFMax
	case syntax.OpCapture, syntax.OpQuest:
		return maxLen(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
		n := maxLen(re.Sub[0])
		switch {
		case n == 0:
			return 0
		case n < 0 || re.Op != syntax.OpRepeat || re.Max < 0:
			return -1
		}
		return n * re.Max
	case syntax.OpConcat:
		total := 0
		for _, sub := range re.Sub {
			n := maxLen(sub)
			if n < 0 {
				return -1
			}
			total += n
		}
		return total
	case syntax.OpAlternate:
		most := 0
		for _, sub := range re.Sub {
			n := maxLen(sub)
			if n < 0 {
				return -1
			}
			most = max(most, n)
		}
		return most
	case syntax.OpNoMatch, syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0
	}
	return -1
}
