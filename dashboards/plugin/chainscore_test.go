package plugin

import (
	"math"
	"testing"
)

func TestTransitionModel(t *testing.T) {
	common := chain{session: "c", tools: []string{"a", "b", "c"}}
	chains := []chain{common, common, common, {session: "odd", tools: []string{"a", "c", "b"}}}
	m := newTransitionModel(chains)
	_, usual := m.score(chains[0])
	steps, odd := m.score(chains[3])
	if odd <= usual {
		t.Errorf("odd chain scored %.2f, usual %.2f: want the odd one higher", odd, usual)
	}
	if len(steps) != 3 || steps[1].from != "a" || steps[1].to != "c" {
		t.Errorf("steps %+v", steps)
	}
	// Leave-one-out: scoring restores the counts.
	if m.pair[[2]string{"a", "c"}] != 1 || m.from[chainStart] != 4 {
		t.Errorf("counts changed by scoring: %v %v", m.pair, m.from)
	}
	if p := math.Exp2(-m.surprise("a", "b")); p <= 0 || p >= 1 {
		t.Errorf("P(b|a) = %v", p)
	}
	if s, mean := m.score(chain{}); s != nil || mean != 0 {
		t.Errorf("empty chain: %v %v", s, mean)
	}
}
