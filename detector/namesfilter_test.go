package detector

import (
	"slices"
	"strings"
	"testing"
)

func TestNamesFilter(t *testing.T) {
	var f namesFilter
	asked := 0
	hasE := func(name string) bool { asked++; return strings.Contains(name, "e") }
	lists := [][]string{{"read", "list", "send"}, {"alpha", "beta"}}
	for round := range 2 {
		for _, names := range lists {
			got := f.filter(names, toolNamesHash(names), hasE)
			want := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !strings.Contains(n, "e") })
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: filter(%q) = %q, want %q", round, names, got, want)
			}
		}
	}
	if asked != 5 {
		t.Errorf("keep asked %d times for 5 names in two rounds, want 5 (the second round is kept)", asked)
	}
	for i := range maxNameLists + 1 {
		names := []string{strings.Repeat("e", i+1)}
		f.filter(names, toolNamesHash(names), hasE)
	}
	if len(f) > maxNameLists {
		t.Errorf("filter keeps %d lists, want at most %d", len(f), maxNameLists)
	}
}
