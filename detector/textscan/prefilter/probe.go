package prefilter

import (
	"regexp/syntax"
	"slices"
	"unicode"
	"unicode/utf8"
)

// probe returns an expression that matches at a place exactly when re
// does: whether a match starts there is decided once a match of the probe
// is found, and what a match of re goes on with after it is left out (a
// trailing x* or x?, the copies of a trailing x{m,n} past m). A match of re
// starting at a place holds one of the probe there, and a match of the
// probe is the start of one of re, so fewer bytes decide the answer.
func probe(re *syntax.Regexp) *syntax.Regexp {
	switch re.Op {
	case syntax.OpCapture:
		return probe(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		return &syntax.Regexp{Op: syntax.OpEmptyMatch}
	case syntax.OpPlus:
		return probe(re.Sub[0])
	case syntax.OpRepeat:
		// x{m,n} starts where x{m} does, which is x{m-1} then x.
		switch re.Min {
		case 0:
			return &syntax.Regexp{Op: syntax.OpEmptyMatch}
		case 1:
			return probe(re.Sub[0])
		}
		rest := &syntax.Regexp{Op: syntax.OpRepeat, Flags: re.Flags, Min: re.Min - 1, Max: re.Min - 1, Sub: re.Sub}
		return &syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags, Sub: []*syntax.Regexp{rest, probe(re.Sub[0])}}
	case syntax.OpConcat:
		// The last part that the probe does not reduce to the empty match
		// decides.
		subs := slices.Clone(re.Sub)
		for len(subs) > 0 {
			last := probe(subs[len(subs)-1])
			if last.Op != syntax.OpEmptyMatch {
				subs[len(subs)-1] = last
				break
			}
			subs = subs[:len(subs)-1]
		}
		switch len(subs) {
		case 0:
			return &syntax.Regexp{Op: syntax.OpEmptyMatch}
		case 1:
			return subs[0]
		}
		return &syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags, Sub: subs}
	case syntax.OpAlternate:
		subs := make([]*syntax.Regexp, len(re.Sub))
		for i, sub := range re.Sub {
			subs[i] = probe(sub)
		}
		return &syntax.Regexp{Op: syntax.OpAlternate, Flags: re.Flags, Sub: subs}
	}
	return re
}

// bound bounds the bytes a match spans in a given text: fixed, plus for
// each class of runs times the longest run of the class's bytes in the
// text. It stands for a repetition without a bound of a class of ASCII
// characters (\s+, \w*): in a text its matches are runs of the text.
type bound struct {
	fixed int
	runs  []classTimes
}

// classTimes is one run class of a bound and how many times its longest
// run counts.
type classTimes struct {
	set   byteSet
	times int
}

// boundOf returns the bound of the matches of re, or false when the
// matches of re have none that a class's runs can give.
func boundOf(re *syntax.Regexp) (bound, bool) {
	switch re.Op {
	case syntax.OpStar, syntax.OpPlus:
		return repeatBound(re.Sub[0], -1)
	case syntax.OpRepeat:
		return repeatBound(re.Sub[0], re.Max)
	case syntax.OpCapture, syntax.OpQuest:
		return boundOf(re.Sub[0])
	case syntax.OpConcat, syntax.OpAlternate:
		var b bound
		for _, sub := range re.Sub {
			x, ok := boundOf(sub)
			if !ok {
				return bound{}, false
			}
			if re.Op == syntax.OpConcat {
				b = b.plus(x, 1)
			} else {
				b = b.atLeast(x)
			}
		}
		return b, true
	}
	n := maxLen(re)
	return bound{fixed: n}, n >= 0
}

// repeatBound is the bound of up to max copies of sub (-1: any number).
func repeatBound(sub *syntax.Regexp, max int) (bound, bool) {
	x, ok := boundOf(sub)
	switch {
	case !ok:
		return bound{}, false
	case max >= 0:
		return bound{}.plus(x, max), true
	case x.fixed == 0 && len(x.runs) == 0:
		return bound{}, true
	}
	set, ok := runeClass(sub)
	if !ok {
		return bound{}, false
	}
	return bound{runs: []classTimes{{set: set, times: 1}}}, true
}

// runeClass returns the bytes re matches when it matches one ASCII
// character (a class or a literal character).
func runeClass(re *syntax.Regexp) (byteSet, bool) {
	var set byteSet
	switch re.Op {
	case syntax.OpCharClass:
		for i := 0; i < len(re.Rune); i += 2 {
			if re.Rune[i+1] >= utf8.RuneSelf {
				return set, false
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				set.add(byte(r))
			}
		}
		return set, true
	case syntax.OpLiteral:
		if len(re.Rune) != 1 || re.Rune[0] >= utf8.RuneSelf {
			return set, false
		}
		r := re.Rune[0]
		set.add(byte(r))
		if re.Flags&syntax.FoldCase != 0 {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				if f >= utf8.RuneSelf {
					return set, false
				}
				set.add(byte(f))
			}
		}
		return set, true
	}
	return set, false
}

// plus returns b with n times x added.
func (b bound) plus(x bound, n int) bound {
	out := bound{fixed: b.fixed + n*x.fixed, runs: slices.Clone(b.runs)}
	for _, r := range x.runs {
		out = out.addRun(r.set, n*r.times, func(a, b int) int { return a + b })
	}
	return out
}

// atLeast returns a bound of both b and x.
func (b bound) atLeast(x bound) bound {
	out := bound{fixed: max(b.fixed, x.fixed), runs: slices.Clone(b.runs)}
	for _, r := range x.runs {
		out = out.addRun(r.set, r.times, func(a, b int) int { return max(a, b) })
	}
	return out
}

// addRun merges times runs of set into b with merge.
func (b bound) addRun(set byteSet, times int, merge func(a, b int) int) bound {
	for i, r := range b.runs {
		if r.set == set {
			b.runs[i].times = merge(r.times, times)
			return b
		}
	}
	b.runs = append(b.runs, classTimes{set: set, times: times})
	return b
}

// longestRun returns the length of the longest run of bytes of set in s.
func longestRun(s string, set *byteSet) int {
	most, n := 0, 0
	for i := 0; i < len(s); i++ {
		if !set.has(s[i]) {
			n = 0
			continue
		}
		n++
		most = max(most, n)
	}
	return most
}
