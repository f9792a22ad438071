package prefilter

import (
	"fmt"
	"slices"
	"strings"
)

// cond is a condition every match of an expression meets: a boolean
// combination of literals the lower-cased text must hold and runs of
// characters from a set it must have.
type cond struct {
	op   condOp
	lit  string  // opLit
	run  runAtom // opRun
	subs []*cond // opAnd, opOr
	id   int     // opLit, opRun: the atom's index in its Set
}

type condOp uint8

const (
	opAll  condOp = iota // always true
	opNone               // never true (the expression cannot match)
	opLit                // lit occurs
	opRun                // a run of run.min bytes from run.set occurs
	opAnd
	opOr
)

var (
	condAll  = &cond{op: opAll}
	condNone = &cond{op: opNone}
)

// runAtom is a run of at least min consecutive bytes of set.
type runAtom struct {
	set byteSet
	min int
}

// byteSet is a set of bytes.
type byteSet [4]uint64

func (s *byteSet) add(c byte)      { s[c>>6] |= 1 << (c & 63) }
func (s *byteSet) has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }

func lit(s string) *cond {
	if len(s) < minAtomLen {
		return condAll
	}
	if len(s) > maxAtomLen {
		s = s[:maxAtomLen]
	}
	return &cond{op: opLit, lit: s}
}

// piecesCond is the condition that one of ps occurs.
func piecesCond(ps []piece) *cond {
	subs := make([]*cond, len(ps))
	for i, p := range ps {
		subs[i] = lit(p.s)
	}
	return or(subs...)
}

func and(cs ...*cond) *cond {
	var subs []*cond
	for _, c := range cs {
		switch c.op {
		case opAll:
			continue
		case opNone:
			return condNone
		case opAnd:
			subs = append(subs, c.subs...)
		default:
			subs = append(subs, c)
		}
	}
	subs = uniq(subs)
	// A part another one implies says nothing more.
	subs = dropImplied(subs, func(a, b *cond) bool { return implies(b, a) })
	switch len(subs) {
	case 0:
		return condAll
	case 1:
		return subs[0]
	}
	return &cond{op: opAnd, subs: subs}
}

func or(cs ...*cond) *cond {
	var subs []*cond
	for _, c := range cs {
		switch c.op {
		case opAll:
			return condAll
		case opNone:
			continue
		case opOr:
			subs = append(subs, c.subs...)
		default:
			subs = append(subs, c)
		}
	}
	subs = uniq(subs)
	// A part that implies another one adds nothing to it.
	subs = dropImplied(subs, implies)
	switch len(subs) {
	case 0:
		return condNone
	case 1:
		return subs[0]
	}
	return &cond{op: opOr, subs: subs}
}

// uniq drops the literal atoms that repeat an earlier one.
func uniq(cs []*cond) []*cond {
	seen := map[string]bool{}
	return slices.DeleteFunc(cs, func(c *cond) bool {
		if c.op != opLit {
			return false
		}
		if seen[c.lit] {
			return true
		}
		seen[c.lit] = true
		return false
	})
}

// dropImplied drops, in order, each of cs that redundant says adds
// nothing to another one still kept.
func dropImplied(cs []*cond, redundant func(c, other *cond) bool) []*cond {
	dropped := make([]bool, len(cs))
	for i, c := range cs {
		for j, other := range cs {
			if j != i && !dropped[j] && redundant(c, other) {
				dropped[i] = true
				break
			}
		}
	}
	out := cs[:0:0]
	for i, c := range cs {
		if !dropped[i] {
			out = append(out, c)
		}
	}
	return out
}

// implies reports whether a text that meets b meets a (when it can tell).
func implies(b, a *cond) bool {
	switch {
	case b == a || a.op == opAll || b.op == opNone:
		return true
	case b.op == opOr:
		return !slices.ContainsFunc(b.subs, func(s *cond) bool { return !implies(s, a) })
	case b.op == opAnd:
		return slices.ContainsFunc(b.subs, func(s *cond) bool { return implies(s, a) })
	case a.op == opAnd:
		return !slices.ContainsFunc(a.subs, func(s *cond) bool { return !implies(b, s) })
	case a.op == opOr:
		return slices.ContainsFunc(a.subs, func(s *cond) bool { return implies(b, s) })
	case a.op == opLit && b.op == opLit:
		return strings.Contains(b.lit, a.lit)
	case a.op == opRun && b.op == opRun:
		return a.run.set == b.run.set && b.run.min >= a.run.min
	}
	return false
}

// eval evaluates c on the text h scanned: the literals it holds and
// (looked for when needed) its run atoms.
func (c *cond) eval(h *Hits) bool {
	switch c.op {
	case opAll:
		return true
	case opNone:
		return false
	case opLit:
		return c.id>>6 < len(h.lits) && h.lits[c.id>>6]&(1<<(c.id&63)) != 0
	case opRun:
		return h.hasRun(c.id)
	case opAnd:
		for _, s := range c.subs {
			if !s.eval(h) {
				return false
			}
		}
		return true
	case opOr:
		for _, s := range c.subs {
			if s.eval(h) {
				return true
			}
		}
		return false
	}
	return true
}

// String writes c for tests and debugging.
func (c *cond) String() string {
	switch c.op {
	case opAll:
		return "*"
	case opNone:
		return "∅"
	case opLit:
		return fmt.Sprintf("%q", c.lit)
	case opRun:
		return fmt.Sprintf("run{%d}", c.run.min)
	}
	parts := make([]string, len(c.subs))
	for i, s := range c.subs {
		parts[i] = s.String()
	}
	sep := " & "
	if c.op == opOr {
		sep = " | "
	}
	return "(" + strings.Join(parts, sep) + ")"
}
