package redact

import (
	"slices"
	"testing"
)

func TestPathSegments(t *testing.T) {
	check := func(name, wantEscaped string) {
		t.Helper()
		got := EscapeSegment(name)
		if got != wantEscaped {
			t.Errorf("EscapeSegment(%q) = %q, want %q", name, got, wantEscaped)
		}
		segs, err := SplitPath("msg." + got + ".x")
		if err != nil || !slices.Equal(segs, []string{"msg", name, "x"}) {
			t.Errorf("SplitPath round trip of %q: %q, %v", name, segs, err)
		}
	}
	check("plain", "plain")
	check("a.b", `a\.b`)
	check(`c:\dir`, `c:\\dir`)
	check("*", `\*`)
	check("", "")
	if _, err := SplitPath(`a\`); err == nil {
		t.Error("SplitPath accepted a trailing backslash")
	}
}

func TestRawPatternWildcards(t *testing.T) {
	r := newTestRedactor(t, Config{RawPaths: []string{"msg.*.secret", `msg.\*.password`}})
	in := []byte(`{"a":{"secret":"1","password":"2"},"*":{"password":"3","secret":"4"},"secret":"5"}`)
	_, paths, err := r.Redact("msg", in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"msg.a.password", "msg.secret"}
	if !slices.Equal(paths, want) {
		t.Errorf("paths %q, want %q", paths, want)
	}
}
