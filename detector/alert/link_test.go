package alert

import (
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/detector"
)

func TestLinker(t *testing.T) {
	a := &Alert{Session: "a b/c&d", Rule: "exfil", Severity: detector.High, FirstTS: t0, LastTS: t0.Add(time.Minute)}
	from, to := itoa(t0.Add(-5*time.Minute).UnixMilli()), itoa(t0.Add(6*time.Minute).UnixMilli())
	tests := []struct {
		name, tmpl, want, err string
	}{
		{name: "empty makes no link", tmpl: "", want: ""},
		{name: "query", tmpl: "https://g.example/d/s?var-session={{.Session | urlquery}}&from={{.FromMS}}&to={{.ToMS}}",
			want: "https://g.example/d/s?var-session=a+b%2Fc%26d&from=" + from + "&to=" + to},
		{name: "path", tmpl: "http://ui.example/sessions/{{.Session | pathescape}}?rule={{.Rule}}&sev={{.Severity}}",
			want: "http://ui.example/sessions/a%20b%2Fc&d?rule=exfil&sev=high"},
		{name: "syntax error", tmpl: "https://g.example/{{.Session", err: "link template"},
		{name: "unknown field", tmpl: "https://g.example/{{.Nope}}", err: "Nope"},
		{name: "not absolute", tmpl: "/d/s?s={{.Session}}", err: "absolute http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := NewLinker(tt.tmpl)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("NewLinker: %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := l.URL(a); got != tt.want {
				t.Errorf("URL = %q, want %q", got, tt.want)
			}
		})
	}
	var nilLinker *Linker
	if got := nilLinker.URL(a); got != "" {
		t.Errorf("nil Linker made %q", got)
	}
}
