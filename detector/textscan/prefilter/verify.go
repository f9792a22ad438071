package prefilter

import (
	"fmt"
	"slices"
)

// Verify checks that what a scan of s finds gives the answers of the
// regexp package: for every expression, Index on the whole text and on the
// windows, Find, and MayMatch where the expression matches; and that every
// keyword is found where it occurs in the lower-cased text. It is for tests
// and fuzzing.
func (set *Set) Verify(s string, windows ...[2]int) error {
	h := set.Scan(s)
	for i, e := range set.exprs {
		for _, w := range append([][2]int{{0, len(s)}}, windows...) {
			from, to := w[0], w[1]
			if got, want := h.Index(i, from, to), find(e.re, s, from, to); got != want {
				return fmt.Errorf("prefilter: expression %d %q on %q[%d:%d]: Index = %d, regexp says %d", i, e.re, s, from, to, got, want)
			}
		}
		if got, want := h.Find(i), e.re.FindString(s); got != want {
			return fmt.Errorf("prefilter: expression %d %q on %q: Find = %q, regexp says %q", i, e.re, s, got, want)
		}
		if e.re.MatchString(s) && !h.MayMatch(i) {
			return fmt.Errorf("prefilter: expression %d %q on %q: MayMatch = false, but it matches", i, e.re, s)
		}
	}
	lower := Lower(s)
	for k, kw := range set.keywords {
		var want []int32
		for i := 0; kw != "" && i+len(kw) <= len(lower); i++ {
			if lower[i:i+len(kw)] == kw {
				want = append(want, int32(i))
			}
		}
		if got := h.Keyword(k); !slices.Equal(got, want) {
			return fmt.Errorf("prefilter: keyword %q in %q: found at %v, want %v", kw, s, got, want)
		}
	}
	return nil
}
