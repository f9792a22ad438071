package redact

import (
	"cmp"
	"slices"
)

// maxRounds bounds how often one string is scanned again after a
// replacement (a replacement can expose a new match next to it). Each
// round replaces at least one byte of non-marker text, so the bound is
// only a guard.
const maxRounds = 64

// span is a secret found in a string: bytes [start, end) by detector det.
type span struct {
	start, end int
	det        int
}

// redactText replaces the secrets in s. It returns nil when s holds none.
// Runs of rounds until no detector matches, so that redacting the result
// again changes nothing.
func (r *Redactor) redactText(s []byte, st *state) []byte {
	var out []byte
	for round := 0; round < maxRounds; round++ {
		var set detSet
		st.hits, set = r.pre.scan(s, st.hits[:0])
		if len(st.hits) == 0 && set.empty() {
			return out
		}
		spans := r.findSpans(s, st.hits, &set, st)
		if len(spans) == 0 {
			return out
		}
		next := make([]byte, 0, len(s)+len(spans)*32)
		prev := 0
		for _, sp := range spans {
			next = append(next, s[prev:sp.start]...)
			next = appendMarker(next, r.siteKey, r.dets[sp.det].kind, s[sp.start:sp.end])
			prev = sp.end
		}
		out = append(next, s[prev:]...)
		s = out
	}
	return out
}

// findSpans runs the candidate detectors on s and returns the secrets to
// replace, in order and without overlaps. A match inside or across an
// existing marker is left alone; one that encloses a whole marker is kept.
func (r *Redactor) findSpans(s []byte, hits []hit, set *detSet, st *state) []span {
	spans := st.spans[:0]
	add := func(d *detector, det, off int, loc []int) {
		a, b := loc[0], loc[1]
		if len(loc) >= 4 && loc[2] >= 0 {
			a, b = loc[2], loc[3]
		}
		if a == b || d.valid != nil && !d.valid(s[off+a:off+b]) {
			return
		}
		spans = append(spans, span{off + a, off + b, det})
	}
	for _, h := range hits {
		d := &r.dets[h.det]
		if d.left != nil {
			prev := byte(0)
			if h.pos > 0 {
				prev = s[h.pos-1]
			}
			if !d.left(prev) {
				continue
			}
		}
		if loc := d.re.FindSubmatchIndex(s[h.pos:]); loc != nil {
			add(d, h.det, h.pos, loc)
		}
	}
	if !set.empty() {
		for i := range r.dets {
			if !set.has(i) {
				continue
			}
			d := &r.dets[i]
			for _, loc := range d.re.FindAllSubmatchIndex(s, -1) {
				add(d, i, 0, loc)
			}
		}
	}
	if len(spans) == 0 {
		st.spans = spans
		return nil
	}
	st.markers = markerSpans(st.markers[:0], s)
	slices.SortFunc(spans, func(x, y span) int {
		if c := cmp.Compare(x.start, y.start); c != 0 {
			return c
		}
		if c := cmp.Compare(y.end, x.end); c != 0 {
			return c
		}
		return cmp.Compare(x.det, y.det)
	})
	kept := spans[:0]
	last := 0
	for _, sp := range spans {
		if sp.start < last || touchesMarker(sp, st.markers) {
			continue
		}
		kept = append(kept, sp)
		last = sp.end
	}
	st.spans = spans
	return kept
}

// touchesMarker reports whether sp lies inside a marker or cuts through one.
func touchesMarker(sp span, markers [][2]int) bool {
	for _, m := range markers {
		if sp.end <= m[0] || sp.start >= m[1] {
			continue // disjoint
		}
		if sp.start <= m[0] && sp.end >= m[1] && (sp.start < m[0] || sp.end > m[1]) {
			continue // encloses the marker and more
		}
		return true
	}
	return false
}
