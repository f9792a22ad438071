package prefilter

import (
	"regexp/syntax"
	"testing"
)

// TestProbe checks the probes and bounds of a few expressions: what a
// match goes on with once it is decided is left out, and repetitions of
// a class of ASCII characters count as the class's longest run.
func TestProbe(t *testing.T) {
	tests := []struct {
		expr, probe string
		bounded     bool
		fixed, runs int
	}{
		{`ab\w*`, `ab`, true, 2, 0},
		{`a\s+b`, `a[\t\n\f\r ]+b`, true, 2, 1},
		{`(x|y\w*)z*`, `x|y`, true, 1, 0},
		{`a{2,5}`, `a{1}a`, true, 2, 0},
		{`a[^\n]*b`, `a[^\n]*b`, false, 0, 0},
		{`(a\s*){3}b`, `(a[\t\n\f\r ]*){3}b`, true, 4, 1},
		{`x(a\s)*b`, `x(a[\t\n\f\r ])*b`, false, 0, 0},
	}
	for _, tt := range tests {
		re, err := syntax.Parse(tt.expr, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		p := probe(re)
		if got := p.String(); got != tt.probe {
			t.Errorf("probe(%s) = %s, want %s", tt.expr, got, tt.probe)
		}
		b, ok := boundOf(p)
		if ok != tt.bounded || ok && (b.fixed != tt.fixed || len(b.runs) != tt.runs) {
			t.Errorf("boundOf(%s) = %+v %v, want fixed %d, %d run classes, %v", tt.expr, b, ok, tt.fixed, tt.runs, tt.bounded)
		}
	}
}
