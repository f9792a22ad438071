// Package prefilter runs regular expressions only where they can match.
//
// From each expression (Go RE2 syntax, as the regexp package compiles it)
// it derives, once, a condition on the literals (and runs of characters)
// any text it matches holds and, when it can, how every match begins:
// literal strings (with the assertion they follow, such as a word or line
// start, and what must come after them past a run of spaces). A Scan
// finds all the literals in a text in one Aho–Corasick pass; Hits.Index
// then runs the expression only on a text that meets its condition,
// anchored at the places a match can start when they are known, and
// answers exactly what regexp.FindStringIndex would. An expression with
// no usable literal runs unfiltered.
//
// The analysis is conservative: a text it rules out cannot match. The
// package's tests compare every answer with the regexp package on
// generated and fuzzed texts, and Set.Verify lets other packages do the
// same for their expressions.
package prefilter
