package redact

import "strings"

// maxDetectors bounds built-in plus configured detectors, so that the set
// of candidates for one string fits in a detSet.
const maxDetectors = 256

// detSet is a set of detector indexes.
type detSet [maxDetectors / 64]uint64

func (s *detSet) add(i int)      { s[i>>6] |= 1 << (i & 63) }
func (s *detSet) has(i int) bool { return s[i>>6]&(1<<(i&63)) != 0 }
func (s *detSet) empty() bool    { return s[0]|s[1]|s[2]|s[3] == 0 }

// anchorLit is a detector literal, found by one of its bytes (its anchor).
type anchorLit struct {
	lit      string
	off      int // index of the anchor byte in lit
	det      int
	anchored bool // the detector is tried where lit starts
}

// hit is where a literal of an anchored detector starts.
type hit struct {
	pos, det int
}

// prefilter decides in one pass over a string which detectors can match
// it: a detector whose literals are all absent cannot, so its regexp is not
// run. Detectors without literals are always candidates.
type prefilter struct {
	anchors [256][]anchorLit
	always  detSet
}

func newPrefilter(dets []detector) *prefilter {
	p := new(prefilter)
	for i, d := range dets {
		if len(d.lits) == 0 {
			p.always.add(i)
			continue
		}
		for _, lit := range d.lits {
			off := rarestByte(lit)
			p.anchors[lit[off]] = append(p.anchors[lit[off]], anchorLit{lit: lit, off: off, det: i, anchored: d.anchored})
		}
	}
	return p
}

// commonLower orders lower-case letters from most to least frequent in
// English text; later is rarer.
const commonLower = "etaoinsrhldcumfpgwybvkxjqz"

// rarestByte returns the index of the byte of lit least likely to occur in
// ordinary text, so that the prefilter stops as seldom as possible.
func rarestByte(lit string) int {
	rank := func(c byte) int {
		switch {
		case c == ' ' || c == '.' || c == ',':
			return 0
		case 'a' <= c && c <= 'z':
			return 1 + strings.IndexByte(commonLower, c)
		case c == '-' || c == ':' || c == '/':
			return 20
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			return 30
		default:
			return 40
		}
	}
	best := 0
	for i := 1; i < len(lit); i++ {
		if rank(lit[i]) > rank(lit[best]) {
			best = i
		}
	}
	return best
}

// scan finds the literals in s: it appends where anchored detectors are to
// be tried to hits, and returns the unanchored detectors that can match.
func (p *prefilter) scan(s []byte, hits []hit) ([]hit, detSet) {
	set := p.always
	for i, c := range s {
		for _, a := range p.anchors[c] {
			start := i - a.off
			if start < 0 || start+len(a.lit) > len(s) || string(s[start:start+len(a.lit)]) != a.lit {
				continue
			}
			if a.anchored {
				hits = append(hits, hit{start, a.det})
			} else {
				set.add(a.det)
			}
		}
	}
	return hits, set
}
