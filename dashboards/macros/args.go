package macros

import (
	"fmt"
	"strings"
)

// macroArgs reads the parenthesised argument list that starts at s[open]
// (which must be '('), with balanced parentheses, and returns the
// arguments split at top-level commas (untrimmed) and the index just past
// the closing parenthesis.
func macroArgs(s string, open int) (args []string, end int, err error) {
	depth := 0
	start := open + 1
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return append(args, s[start:i]), i + 1, nil
			}
		case ',':
			if depth == 1 {
				args = append(args, s[start:i])
				start = i + 1
			}
		}
	}
	return nil, 0, fmt.Errorf("unbalanced parentheses after %q", clip(s[open:]))
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// isWord reports whether b can be part of a variable or macro name.
func isWord(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// wordAt returns the run of word characters at s[i:].
func wordAt(s string, i int) string {
	j := i
	for j < len(s) && isWord(s[j]) {
		j++
	}
	return s[i:j]
}

// trimAll trims the spaces around every argument.
func trimAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.TrimSpace(a)
	}
	return out
}
