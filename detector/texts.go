package detector

import (
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/mcptrail/mcptrail/detector/textscan"
)

// leafText is what the detections derive from one string of a call's
// arguments or result. The engine makes one per distinct text (see
// textCache) and every call, in any session, that carries the text shares
// it: agents read the same pages, files and lists again and again. Each
// analysis runs on first use.
type leafText struct {
	s string

	// shingles are the text's fingerprints in the order textscan.Shingles
	// gives them; shingleSet the same, sorted and unique.
	shingled             bool
	shingles, shingleSet []uint64
	// values are textscan.Values(nil, s); valueSet the same, sorted.
	valued           bool
	values, valueSet []textscan.Value

	// score is the text's injection score before tool names; instructions
	// the injection detection's view of a result text.
	score        *textscan.Scored
	instructions *instructions
	// analysis is the scan behind score, kept only while the result that
	// scored the text is observed (see release): the injection detection
	// reads the instructions of the same text.
	analysis *textscan.Analysis
}

// scored returns textscan.ScoreText(s).
func (t *leafText) scored() *textscan.Scored {
	if t.score == nil {
		t.analysis = textscan.Analyse(t.s)
		t.score = t.analysis.Score()
	}
	return t.score
}

// scan returns textscan.Analyse(s), the one scored kept if not released.
func (t *leafText) scan() *textscan.Analysis {
	if t.analysis != nil {
		return t.analysis
	}
	return textscan.Analyse(t.s)
}

// release drops the analysis kept by scored: a text's scan is as large as
// the text.
func (t *leafText) release() { t.analysis = nil }

// maxKeptText is the text length up to which a leafText keeps its
// shingles (and the textCache keeps the leafText): a longer text's
// shingles are computed when asked for.
const maxKeptText = 64 << 10

// big reports whether t is too long to keep its shingles.
func (t *leafText) big() bool { return len(t.s) > maxKeptText }

// shingle computes the shingles, unless the text is big (see Shingles).
func (t *leafText) shingle() {
	if t.shingled {
		return
	}
	t.shingled = true
	if !t.big() {
		// One allocation holds the shingles and their set when the text's
		// words average five bytes or more, as prose's do.
		buf := appendShingles(make([]uint64, 0, 2*(len(t.s)/5+1)), t.s)
		t.shingles = buf[:len(buf):len(buf)]
		t.shingleSet = append(buf[len(buf):], t.shingles...)
		slices.Sort(t.shingleSet)
		t.shingleSet = slices.Compact(t.shingleSet)
	}
}

// appendShingles appends the fingerprints of textscan.Shingles(s) to dst.
func appendShingles(dst []uint64, s string) []uint64 {
	textscan.Shingles(s, func(h uint64) { dst = append(dst, h) })
	return dst
}

// Values returns textscan.Values(nil, s); the slice is shared.
func (t *leafText) Values() []textscan.Value {
	if !t.valued {
		t.valued = true
		t.values = textscan.Values(nil, t.s)
		t.valueSet = slices.Clone(t.values)
		slices.SortFunc(t.valueSet, compareValues)
	}
	return t.values
}

// Shingles returns the fingerprints of textscan.Shingles, in its order;
// the slice may be shared.
func (t *leafText) Shingles() []uint64 {
	if t.big() {
		return appendShingles(nil, t.s)
	}
	t.shingle()
	return t.shingles
}

func (t *leafText) hasShingle(h uint64) bool {
	t.shingle()
	_, ok := slices.BinarySearch(t.shingleSet, h)
	return ok
}

func (t *leafText) hasValue(v textscan.Value) bool {
	t.Values()
	_, ok := slices.BinarySearchFunc(t.valueSet, v, compareValues)
	return ok
}

func compareValues(a, b textscan.Value) int {
	if c := strings.Compare(a.Norm, b.Norm); c != 0 {
		return c
	}
	return strings.Compare(string(a.Kind), string(b.Kind))
}

// textCache finds the leafText of a string.
type textCache struct {
	texts map[uint64]*leafText
	bytes int
}

// maxTexts bounds the texts the cache holds, and maxTextBytes their
// length; when full it starts over (the calls that hold a text keep it).
// Texts over maxKeptText are not kept.
const (
	maxTexts     = 16_384
	maxTextBytes = 32 << 20
)

func newTextCache() *textCache { return &textCache{texts: map[uint64]*leafText{}} }

// of returns the leafTexts of leaves.
func (tc *textCache) of(leaves []textscan.Leaf) []*leafText {
	if len(leaves) == 0 {
		return nil
	}
	out := make([]*leafText, len(leaves))
	for i, l := range leaves {
		out[i] = tc.get(l.Text)
	}
	return out
}

func (tc *textCache) get(s string) *leafText {
	h := xxhash.Sum64String(s)
	if t := tc.texts[h]; t != nil && t.s == s {
		return t
	}
	t := &leafText{s: s}
	if t.big() {
		return t
	}
	if len(tc.texts) >= maxTexts || tc.bytes+len(s) > maxTextBytes {
		clear(tc.texts)
		tc.bytes = 0
	}
	tc.texts[h] = t
	tc.bytes += len(s)
	return t
}

// firstIndex maps the keys of tool results' texts (shingles or values) to
// the first call whose result held them, as a map bounded to max keys
// (given to add) would: the first max distinct keys are kept. Results are
// indexed when the index is first searched (or when maxIndexEntries wait),
// so a text nobody searches for is never split into keys. While no bound
// can be reached the index keeps only the list of results, whose texts are
// shared, so a session holds no state per key; past that, past
// maxIndexEntries results or at a text too long to keep its keys, it
// builds the map.
type firstIndex[K comparable, KS keySet[K]] struct {
	// pending are the results added and not indexed yet, in order.
	pending []indexEntry
	entries []indexEntry
	// bound is the number of distinct keys of the entries' texts summed:
	// at least the number of distinct keys.
	bound int
	m     map[K]*Call
	// max is the bound on keys given to add.
	max int
}

// keySet is how a firstIndex reads a text's keys.
type keySet[K comparable] interface {
	// keys are the text's keys in the order a map takes them.
	keys(t *leafText) []K
	// distinct is the number of distinct keys.
	distinct(t *leafText) int
	has(t *leafText, k K) bool
}

type indexEntry struct {
	call *Call
	text *leafText
}

// maxIndexEntries bounds the results a firstIndex searches one by one,
// and the results it holds before indexing them.
const maxIndexEntries = 64

type shingleKeys struct{}

func (shingleKeys) keys(t *leafText) []uint64      { return t.Shingles() }
func (shingleKeys) distinct(t *leafText) int       { t.shingle(); return len(t.shingleSet) }
func (shingleKeys) has(t *leafText, h uint64) bool { return t.hasShingle(h) }

type valueKeys struct{}

func (valueKeys) keys(t *leafText) []textscan.Value      { return t.Values() }
func (valueKeys) distinct(t *leafText) int               { return len(t.Values()) }
func (valueKeys) has(t *leafText, v textscan.Value) bool { return t.hasValue(v) }

// add indexes the keys of t, a text of c's result, in an index of at most
// max keys (the same at every call).
func (x *firstIndex[K, KS]) add(c *Call, t *leafText, max int) {
	x.max = max
	if len(x.pending) == maxIndexEntries {
		x.settle()
	}
	if x.pending == nil {
		x.pending = make([]indexEntry, 0, 4) // most sessions get a few results
	}
	x.pending = append(x.pending, indexEntry{c, t})
}

// settle indexes the pending results.
func (x *firstIndex[K, KS]) settle() {
	for _, e := range x.pending {
		x.index(e.call, e.text)
	}
	clear(x.pending)
	x.pending = x.pending[:0]
}

// index indexes the keys of t, a text of c's result.
func (x *firstIndex[K, KS]) index(c *Call, t *leafText) {
	var ks KS
	n := 0
	if !t.big() {
		if n = ks.distinct(t); n == 0 {
			return
		}
	}
	if x.m == nil && (t.big() || x.bound+n > x.max || len(x.entries) == maxIndexEntries) {
		x.m = make(map[K]*Call, min(x.bound+n, x.max))
		for _, e := range x.entries {
			x.insert(e.call, e.text)
		}
		x.entries = nil
	}
	if x.m != nil {
		x.insert(c, t)
		return
	}
	x.entries = append(x.entries, indexEntry{c, t})
	x.bound += n
}

func (x *firstIndex[K, KS]) insert(c *Call, t *leafText) {
	var ks KS
	for _, k := range ks.keys(t) {
		if len(x.m) >= x.max {
			return
		}
		if _, ok := x.m[k]; !ok {
			x.m[k] = c
		}
	}
}

// first returns the first call whose result held k.
func (x *firstIndex[K, KS]) first(k K) (*Call, bool) {
	if len(x.pending) > 0 {
		x.settle()
	}
	if x.m != nil {
		c, ok := x.m[k]
		return c, ok
	}
	var ks KS
	for _, e := range x.entries {
		if ks.has(e.text, k) {
			return e.call, true
		}
	}
	return nil, false
}
