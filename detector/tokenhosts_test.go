package detector_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/detector"
	"github.com/mcptrail/mcptrail/schemas"
)

// TestTokenMultiHost checks that token.multi-host means one token
// presented by several machines, not one machine under several names.
func TestTokenMultiHost(t *testing.T) {
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	tok := schemas.Token{FP: "fp-hosts", Kind: schemas.TokenJWT, Aud: schemas.Audience{"https://mcp.example.com/mcp"}, Exp: ts.Add(time.Hour).Unix()}
	const url = "https://mcp.example.com/mcp"
	// use is one tools/call with the token from a host in a session.
	type use struct{ session, host string }
	build := func(t *testing.T, uses []use) []*schemas.Record {
		t.Helper()
		var recs []*schemas.Record
		caps := map[string]*tdCapture{}
		at := ts
		for _, u := range uses {
			c := caps[u.session]
			if c == nil {
				c = tdHTTP(tdNew(t, u.session), "api", url)
				caps[u.session] = c
			}
			at = at.Add(time.Second)
			c.ts, c.host = at, u.host
			n := len(c.recs)
			c.call("x", `{}`, tdWithToken(tok))
			recs = append(recs, c.recs[n:]...)
		}
		return recs
	}
	multi := map[string]detector.Severity{detector.RuleTokenMultiHost: detector.High}
	cases := []struct {
		name string
		uses []use
		want map[string]detector.Severity
		// earlier, if set, is what the finding names as the earlier hosts.
		earlier string
	}{
		{"two machines", []use{{"s1", "laptop-7"}, {"s2", "laptop-9"}}, multi, "laptop-7"},
		{"two machines, same domain", []use{{"s1", "laptop-7.corp.example.com"}, {"s2", "laptop-9.corp.example.com"}}, multi, "laptop-7.corp.example.com"},
		{"name prefix is not a short name", []use{{"s1", "web1"}, {"s2", "web10"}}, multi, "web1"},
		{"two addresses", []use{{"s1", "10.0.0.7"}, {"s2", "10.0.0.9"}}, multi, "10.0.0.7"},
		{"renamed, then another machine", []use{{"s1", "laptop-7"}, {"s1", "dev-box"}, {"s2", "laptop-9"}}, multi, "laptop-7, dev-box"},
		{"another machine in a later session of the same one", []use{{"s1", "laptop-7"}, {"s2", "laptop-7"}, {"s3", "vps-31"}}, multi, "laptop-7"},
		{"one machine", []use{{"s1", "laptop-7"}, {"s1", "laptop-7"}, {"s2", "laptop-7"}}, nil, ""},
		{"renamed mid-session", []use{{"s1", "laptop-7"}, {"s1", "dev-box"}, {"s1", "dev-box"}}, nil, ""},
		{"renamed, then a new session under the new name", []use{{"s1", "laptop-7"}, {"s1", "dev-box"}, {"s2", "dev-box"}, {"s3", "laptop-7"}}, nil, ""},
		{"two collectors name one machine", []use{{"s1", "laptop-7"}, {"s1", "LAPTOP-7.corp.example.com"}, {"s1", "laptop-7"}, {"s1", "laptop-7.corp.example.com"}}, nil, ""},
		{"short and full name in two sessions", []use{{"s1", "laptop-7"}, {"s2", "laptop-7.corp.example.com."}, {"s3", "Laptop-7.Corp.Example.Com"}}, nil, ""},
		{"loopback names no machine", []use{{"s1", "laptop-7"}, {"s2", "localhost"}, {"s3", "127.0.0.1"}, {"s4", "::1"}}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := tdRun(t, build(t, tc.uses)...)
			tdExpect(t, fs, tc.want, "token.")
			var found []detector.Finding
			for _, f := range fs {
				if f.Rule == detector.RuleTokenMultiHost {
					found = append(found, f)
				}
			}
			if tc.want == nil {
				return
			}
			if len(found) != 1 {
				t.Fatalf("%d token.multi-host findings, want 1:%s", len(found), tdDescribe(fs))
			}
			if what := found[0].Evidence[0].What; !strings.HasSuffix(what, "earlier from "+tc.earlier) {
				t.Errorf("evidence %q, want the earlier hosts %q", what, tc.earlier)
			}
		})
	}
}

// TestTokenMultiHostBounded checks that a token used from many machines
// keeps a bounded history and still reports each new machine.
func TestTokenMultiHostBounded(t *testing.T) {
	tok := schemas.Token{FP: "fp-many", Kind: schemas.TokenOpaque}
	var recs []*schemas.Record
	hosts := make([]string, 40)
	for i := range hosts {
		hosts[i] = "host-" + strings.Repeat("x", i+1)
		c := tdHTTP(tdNew(t, "s-"+hosts[i]), "api", "https://mcp.example.com/mcp")
		c.host = hosts[i]
		c.ts = c.ts.Add(time.Duration(i) * time.Minute)
		c.call("x", `{}`, tdWithToken(tok))
		recs = append(recs, c.recs...)
	}
	fs := tdRun(t, recs...)
	var from []string
	for _, f := range fs {
		if f.Rule == detector.RuleTokenMultiHost {
			from = append(from, f.Session)
		}
	}
	if len(from) != len(hosts)-1 || slices.Contains(from, "s-"+hosts[0]) {
		t.Errorf("token.multi-host in %d sessions %v, want every session but the first", len(from), from)
	}
}
