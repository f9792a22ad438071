package prefilter

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// Hits is what a Scan found in one text.
type Hits struct {
	set *Set
	s   string
	// lower is s lower-cased.
	lower []byte
	// lits tells which literals the text holds (a bit per literal), runs
	// which run atoms (see hasRun).
	lits []uint64
	runs []condResult
	// folds: the text holds U+017F or U+212A.
	folds bool
	// cands are the places where the literals of first sets occur, by
	// expression, expression i's from candFrom[i] (sorted by place on
	// first use, when candsSorted is set); kwPos the places of the
	// keywords, by keyword, keyword k's from kwFrom[k]. All are nil when
	// the text holds none.
	cands       []start
	candFrom    []int32
	candsSorted bool
	kwPos       []int32
	kwFrom      []int32
	// probed holds, per candidate (by index in cands), what matchAt
	// found there (made on first use).
	probed []probed
	// rd reads inputs to matchAt.
	rd strings.Reader
	// conds tells, per expression, whether the text meets its cond
	// (condUnknown until evaluated).
	conds []condResult
}

// condResult is what a Hits knows of an expression's cond or of a run
// atom.
type condResult uint8

const (
	condUnknown condResult = iota
	condFalse
	condTrue
)

// holds reports whether the scanned text meets expression i's cond,
// evaluated once per text: windows of one text ask again and again.
func (h *Hits) holds(i int) bool {
	if h.conds == nil {
		h.conds = make([]condResult, len(h.set.exprs))
	}
	if h.conds[i] == condUnknown {
		h.conds[i] = condFalse
		if h.set.exprs[i].cond.eval(h) {
			h.conds[i] = condTrue
		}
	}
	return h.conds[i] == condTrue
}

// start is a place a match of an expression may start: the literal there
// ends at end, at says what must hold at pos, and follow what must come
// after the literal.
type start struct {
	expr     int32
	pos, end int32
	at       anchor
	follow   *follow
}

// kwHit is a place a keyword occurs.
type kwHit struct {
	kw, pos int32
}

// Scan finds the literals of the set's expressions in s, the text the
// expressions are to run on.
func (set *Set) Scan(s string) *Hits {
	h := &Hits{set: set, s: s, lower: lowerBytes(s)}
	h.folds = strings.Contains(s, "\u017f") || strings.Contains(s, "\u212a")
	if set.trie != nil {
		h.lits = make([]uint64, (len(set.lits)+63)/64)
		// The places found go to scratch slices, then to h by expression
		// and by keyword, each in one allocation of its size.
		sc := scratches.Get().(*scratch)
		starts, kws := sc.starts[:0], sc.kws[:0]
		set.trie.Walk(h.lower, func(end, n, pattern int64) bool {
			h.lits[pattern>>6] |= 1 << (pattern & 63)
			pos := int32(end - n + 1)
			for _, k := range set.keywordOf[pattern] {
				kws = append(kws, kwHit{k, pos})
			}
			for _, f := range set.firstOf[pattern] {
				starts = append(starts, start{expr: f.expr, pos: pos, end: int32(end + 1), at: f.at, follow: f.follow})
			}
			return true
		})
		h.bucketStarts(starts)
		h.bucketKeywords(kws)
		sc.keep(starts, kws)
		scratches.Put(sc)
	}
	return h
}

// scratch holds the places a Scan finds before it sorts them out.
type scratch struct {
	starts []start
	kws    []kwHit
}

// scratches are the scratch slices of the Scans under way.
var scratches = sync.Pool{New: func() any { return new(scratch) }}

// maxScratch bounds the places a scratch keeps room for between Scans.
const maxScratch = 1 << 14

// keep keeps the slices a Scan grew, for the next one, unless they grew
// past maxScratch. It clears the follow pointers the starts hold.
func (sc *scratch) keep(starts []start, kws []kwHit) {
	clear(starts)
	sc.starts, sc.kws = starts[:0], kws[:0]
	if cap(starts) > maxScratch {
		sc.starts = nil
	}
	if cap(kws) > maxScratch {
		sc.kws = nil
	}
}

// bucketStarts sets cands and candFrom: starts, in the order found, by
// expression.
func (h *Hits) bucketStarts(starts []start) {
	if len(starts) > 0 {
		h.cands, h.candFrom = bucket(starts, len(h.set.exprs),
			func(st start) int32 { return st.expr }, func(st start) start { return st })
	}
}

// bucketKeywords sets kwPos and kwFrom: the places of kws by keyword, each
// keyword's in the order found, which is increasing.
func (h *Hits) bucketKeywords(kws []kwHit) {
	if len(kws) > 0 {
		h.kwPos, h.kwFrom = bucket(kws, len(h.set.keywords),
			func(kh kwHit) int32 { return kh.kw }, func(kh kwHit) int32 { return kh.pos })
	}
}

// bucket groups elem(item) of items by key(item), in [0, n), with a
// counting sort, which keeps the order of items within each group: group
// k is out[from[k]:from[k+1]].
func bucket[T, E any](items []T, n int, key func(T) int32, elem func(T) E) (out []E, from []int32) {
	from = make([]int32, n+1)
	for _, it := range items {
		from[key(it)+1]++
	}
	for k := 1; k <= n; k++ {
		from[k] += from[k-1]
	}
	// Filled from the back, each group ends where the next one begins;
	// the ends are then the starts, one place down.
	out = make([]E, len(items))
	for i := len(items) - 1; i >= 0; i-- {
		k := key(items[i]) + 1
		from[k]--
		out[from[k]] = elem(items[i])
	}
	copy(from, from[1:])
	from[n] = int32(len(items))
	return out, from
}

// lowerBytes returns s with its ASCII letters lower-cased. When there are
// none it returns s's own bytes, which nobody may change (the scan only
// reads them).
func lowerBytes(s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return b
		}
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// hasRun reports whether the text holds run atom i, looked for once on
// first use: most expressions' conditions are settled by literals.
func (h *Hits) hasRun(i int) bool {
	if h.runs == nil {
		h.runs = make([]condResult, len(h.set.runs))
	}
	if h.runs[i] == condUnknown {
		h.runs[i] = condFalse
		if hasRun(h.lower, h.set.runs[i]) {
			h.runs[i] = condTrue
		}
	}
	return h.runs[i] == condTrue
}

// hasRun reports whether b holds r.min consecutive bytes of r.set.
func hasRun(b []byte, r runAtom) bool {
	n := 0
	for _, c := range b {
		if !r.set.has(c) {
			n = 0
			continue
		}
		if n++; n >= r.min {
			return true
		}
	}
	return false
}

// Index returns the start of the leftmost match of expression i in
// s[from:to], as an offset in s, or -1: what
// Regexp(i).FindStringIndex(s[from:to]) reports, with s the scanned text.
func (h *Hits) Index(i, from, to int) int {
	e := &h.set.exprs[i]
	if e.skippedFold && h.folds {
		return find(e.re, h.s, from, to)
	}
	// A match in s[from:to] holds the literals and runs of e.cond, so s
	// does.
	if !h.holds(i) {
		return -1
	}
	if !e.starts {
		return find(e.re, h.s, from, to)
	}
	cands := h.candidates(i)
	k, _ := slices.BinarySearchFunc(cands, from, func(c start, pos int) int { return int(c.pos) - pos })
	tried := -1
	if e.textStart || e.lineStart && h.follows(e.lineFollow, from, to) {
		if h.matchAt(e, -1, from, from, to) {
			return from
		}
		tried = from
	}
	nl := -1 // the next line start to try, when lineStart
	if e.lineStart {
		nl = h.nextLine(e.lineFollow, from+1, to)
	}
	for {
		for k < len(cands) && h.skip(cands[k], tried, from, to) {
			k++
		}
		pos, cand := -1, -1
		if k < len(cands) {
			pos, cand = int(cands[k].pos), int(h.candFrom[i])+k
		}
		if nl >= 0 && (pos < 0 || nl < pos) {
			pos, cand, nl = nl, -1, h.nextLine(e.lineFollow, nl+1, to)
		}
		if pos < 0 {
			return -1
		}
		tried = pos
		if h.matchAt(e, cand, pos, from, to) {
			return pos
		}
	}
}

// skip reports whether c need not be tried in s[from:to]: its place was
// tried, its literal runs past to, or the match must start a word (or a
// line) and c follows a word character (or is inside a line).
func (h *Hits) skip(c start, tried, from, to int) bool {
	pos := int(c.pos)
	switch {
	case pos <= tried || int(c.end) > to:
		return true
	case pos > from && c.at == anchorWord && isWordByte(h.s[pos-1]):
		return true
	case pos > from && c.at == anchorLine && h.s[pos-1] != '\n':
		return true
	}
	return !h.follows(c.follow, int(c.end), to)
}

// follows reports whether f holds at pos in s[:to]: skip bytes, then one
// of its literals. A nil (or unknown) f always holds.
func (h *Hits) follows(f *follow, pos, to int) bool {
	if f == nil || !f.ok {
		return true
	}
	end := pos
	for end < to && f.skip.has(h.lower[end]) {
		end++
	}
	from := end
	if f.skipFirst {
		// A literal may start inside the run of skip bytes.
		from = pos
	}
	for q := from; q <= end; q++ {
		if hasLit(f.lits, h.lower[q:to]) {
			return true
		}
	}
	return false
}

// hasLit reports whether b starts with one of lits (sorted, none a prefix
// of another): only the greatest literal not above b can.
func hasLit(lits []string, b []byte) bool {
	i, found := slices.BinarySearchFunc(lits, b, compareLit)
	if found {
		return true
	}
	if i == 0 {
		return false
	}
	l := lits[i-1]
	return len(l) <= len(b) && string(b[:len(l)]) == l
}

// compareLit compares l and b as strings.
func compareLit(l string, b []byte) int {
	for i := 0; i < len(l) && i < len(b); i++ {
		if l[i] != b[i] {
			return int(l[i]) - int(b[i])
		}
	}
	return len(l) - len(b)
}

// Keyword returns where keyword k occurs in the scanned text (lower-cased),
// in increasing order; the slice is shared.
func (h *Hits) Keyword(k int) []int32 {
	if h.kwFrom == nil {
		return nil
	}
	return h.kwPos[h.kwFrom[k]:h.kwFrom[k+1]]
}

// MatchIn reports whether expression i matches in s[from:to].
func (h *Hits) MatchIn(i, from, to int) bool { return h.Index(i, from, to) >= 0 }

// Match reports whether expression i matches in the scanned text.
func (h *Hits) Match(i int) bool { return h.Index(i, 0, len(h.s)) >= 0 }

// Find returns the leftmost match of expression i in the scanned text:
// what Regexp(i).FindString(s) returns.
func (h *Hits) Find(i int) string {
	e := &h.set.exprs[i]
	if !e.starts || e.skippedFold && h.folds {
		if !h.MayMatch(i) {
			return ""
		}
		return e.re.FindString(h.s)
	}
	pos := h.Index(i, 0, len(h.s))
	if pos < 0 {
		return ""
	}
	// The match the anchored expression finds at pos is the one the
	// unanchored search prefers there.
	end := h.end(e, pos, len(h.s))
	if pos == 0 {
		loc := e.at0.FindStringIndex(h.s[:end])
		return h.s[:loc[1]]
	}
	loc := e.atN.FindStringIndex(h.s[pos-1 : end])
	return h.s[pos : pos-1+loc[1]]
}

// MayMatch reports whether expression i can match in the scanned text: a
// false answer is sure, a true one is not.
func (h *Hits) MayMatch(i int) bool {
	e := &h.set.exprs[i]
	switch {
	case e.skippedFold && h.folds:
		return true
	case e.starts:
		return len(h.candidates(i)) > 0 || e.textStart || e.lineStart
	}
	return e.cond.eval(h)
}

// nextLine returns the first position in [from, to) that follows a
// newline and where f holds, or -1.
func (h *Hits) nextLine(f *follow, from, to int) int {
	for from < to {
		i := strings.IndexByte(h.s[from-1:to-1], '\n')
		if i < 0 {
			return -1
		}
		pos := from + i
		if h.follows(f, pos, to) {
			return pos
		}
		from = pos + 1
	}
	return -1
}

// end returns how much of s[:to] a match of e at pos can look at: its
// longest match and the rune after it.
func (h *Hits) end(e *expr, pos, to int) int {
	if e.maxLen < 0 {
		return to
	}
	return min(to, pos+e.maxLen+utf8.UTFMax)
}

// probeEnd returns how much of s[:to] the probe of e at pos can look at:
// its longest match there and the rune after it.
//
// A match of the probe is made of parts of at most probeFixed bytes in
// all and of runs, up to times per run class. In the bytes w =
// s[pos:pos+n] its runs are runs of w, so a match covering w would make
// n at most probeFixed plus each class's longest run in w times its
// times: when n is more, every match at pos is shorter than n. n grows
// until it is, or reaches to.
//
// It also reports whether the end is its own, not to.
func (h *Hits) probeEnd(e *expr, pos, to int) (int, bool) {
	if !e.probeBounded {
		return to, false
	}
	need := e.probeFixed
	for _, r := range e.probeRuns {
		need += int(r.times)
	}
	for {
		n := need + 1
		if pos+n >= to {
			return to, false
		}
		w := h.s[pos : pos+n]
		need = e.probeFixed
		for _, r := range e.probeRuns {
			need += int(r.times) * longestRun(w, &h.set.classes[r.class])
		}
		if n > need {
			if end := pos + n + utf8.UTFMax; end <= to {
				return end, true
			}
			return to, false
		}
		need = max(need, 2*n)
	}
}

// matchAt reports whether e matches starting at pos in s[from:to]. cand
// is the index in cands of the candidate at pos, or -1.
//
// Windows of one text ask again at the same candidates: past the start
// of the window, the answer depends on s[pos-1:end] only, end being where
// the probe stops looking (see probeEnd). When that is before to, the
// answer is kept for the windows that take in end.
func (h *Hits) matchAt(e *expr, cand, pos, from, to int) bool {
	if cand >= 0 && pos > from && h.probed != nil {
		if p := h.probed[cand]; p.res != condUnknown && int(p.end) <= to {
			return p.res == condTrue
		}
	}
	end, own := h.probeEnd(e, pos, to)
	ok := h.probeMatch(e, pos, from, end)
	if cand >= 0 && pos > from && own {
		if h.probed == nil {
			h.probed = make([]probed, len(h.cands))
		}
		h.probed[cand] = probed{end: int32(end), res: condFalse}
		if ok {
			h.probed[cand].res = condTrue
		}
	}
	return ok
}

// probed is what matchAt found at a candidate: the answer (res), valid in
// a window that takes in s[pos-1:end].
type probed struct {
	end int32
	res condResult
}

// probeMatch reports whether the probe of e matches at pos in
// s[from:end].
func (h *Hits) probeMatch(e *expr, pos, from, end int) bool {
	re, in := e.probeN, h.s[max(pos-1, 0):end]
	if pos == from {
		re, in = e.probe0, h.s[from:end]
	}
	if len(in) <= shortInput {
		return re.MatchString(in)
	}
	// On a long input the backtracker would first clear a bitmap as large
	// as the input times the program; the automaton a reader gets stops
	// where the match attempt fails.
	h.rd.Reset(in)
	return re.MatchReader(&h.rd)
}

// shortInput is the input length up to which matchAt lets the regexp
// package pick its (backtracking) matcher.
const shortInput = 256

// candidates returns the places where matches of expression i can start,
// sorted.
func (h *Hits) candidates(i int) []start {
	if h.candFrom == nil {
		return nil
	}
	if !h.candsSorted {
		h.candsSorted = true
		for k := range h.set.exprs {
			slices.SortFunc(h.cands[h.candFrom[k]:h.candFrom[k+1]], func(a, b start) int {
				if a.pos != b.pos {
					return int(a.pos - b.pos)
				}
				return int(a.end - b.end)
			})
		}
	}
	return h.cands[h.candFrom[i]:h.candFrom[i+1]]
}

func find(re *regexp.Regexp, s string, from, to int) int {
	loc := re.FindStringIndex(s[from:to])
	if loc == nil {
		return -1
	}
	return loc[0] + from
}
