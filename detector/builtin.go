package detector

import "github.com/mcptrail/mcptrail/detector/rules"

// Builtin returns the built-in detections, with the pattern and sequence
// rules of set.
func Builtin(set *rules.Set) []Detection {
	var patterns, sequences []*rules.Rule
	for _, r := range set.Rules {
		if r.Pattern != nil {
			patterns = append(patterns, r)
		} else {
			sequences = append(sequences, r)
		}
	}
	return []Detection{
		newInjection(),
		exfil{},
		newPatternRules(patterns),
		sequenceRules{sequences},
		newToolDefs(),
		newTokens(),
	}
}
