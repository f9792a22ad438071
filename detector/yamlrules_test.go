package detector

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mcptrail/mcptrail/detector/rules"
)

// TestPatternRulesAgreeWithRegexp checks the scans of the built-in pattern
// rules, on texts made of the pieces their matches are made of: what the
// rules find is what the regexp package finds.
func TestPatternRulesAgreeWithRegexp(t *testing.T) {
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	c := compileRules(set)
	d := newPatternRules(c.patterns, c.patternSet)
	pieces := append(d.set.Literals(), " ", "\n", "/", "~", ".", "\"", "=", "SELECT", " from ", "AKIAABCDEFGHIJKLMNOP", "ghp_"+strings.Repeat("a1", 20), "xoxb-1234567890ab", "-----BEGIN ", "PRIVATE KEY-----", "é", "\u017f")
	r := rand.New(rand.NewPCG(8, 9))
	for range 5_000 {
		var b strings.Builder
		for n := 1 + r.IntN(12); n > 0; n-- {
			p := pieces[r.IntN(len(pieces))]
			if r.IntN(3) == 0 {
				p = strings.ToUpper(p)
			}
			b.WriteString(p)
		}
		if err := d.set.Verify(b.String()); err != nil {
			t.Fatal(err)
		}
	}
}
