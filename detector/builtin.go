package detector

import (
	"regexp"
	"sync"

	"github.com/mcptrail/mcptrail/detector/rules"
	"github.com/mcptrail/mcptrail/detector/textscan/prefilter"
)

// Builtin returns the built-in detections, with the pattern and sequence
// rules of set.
func Builtin(set *rules.Set) []Detection {
	return compileRules(set).detections()
}

// compiledRules is a rule set split into pattern and sequence rules, with
// the prefilter of the pattern rules' expressions. Nothing changes it once
// made, so engines may share it.
type compiledRules struct {
	set                 *rules.Set
	patterns, sequences []*rules.Rule
	patternSet          *prefilter.Set
}

// builtinRules returns rules.Builtin compiled, made once per process: an
// engine with the built-in rules does not parse and compile them again.
var builtinRules = sync.OnceValues(func() (*compiledRules, error) {
	set, err := rules.Builtin()
	if err != nil {
		return nil, err
	}
	return compileRules(set), nil
})

func compileRules(set *rules.Set) *compiledRules {
	c := &compiledRules{set: set}
	for _, r := range set.Rules {
		if r.Pattern != nil {
			c.patterns = append(c.patterns, r)
		} else {
			c.sequences = append(c.sequences, r)
		}
	}
	res := make([]*regexp.Regexp, len(c.patterns))
	for i, r := range c.patterns {
		res[i] = r.Pattern.Regexp()
	}
	c.patternSet = prefilter.New(res)
	return c
}

// detections returns the built-in detections with the rules, with state
// of their own.
func (c *compiledRules) detections() []Detection {
	return []Detection{
		newInjection(),
		exfil{},
		newPatternRules(c.patterns, c.patternSet),
		sequenceRules{c.sequences},
		newToolDefs(),
		newTokens(),
	}
}
