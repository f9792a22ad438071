package detector_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/detector"
	"github.com/mcptrail/mcptrail/schemas"
)

// tdHTTP makes c's records come from an HTTP server at url.
func tdHTTP(c *tdCapture, name, url string) *tdCapture {
	c.server = schemas.Server{Name: name, Version: "1.0.0", URL: url}
	return c
}

func tdWithToken(tok schemas.Token) func(*schemas.Record) {
	return func(r *schemas.Record) {
		r.Transport = schemas.TransportStreamableHTTP
		tk := tok
		r.Token = &tk
	}
}

// tdAuth adds an OAuth event record.
func (c *tdCapture) auth(a schemas.AuthEvent) {
	c.t.Helper()
	c.add(schemas.ClientToServer, "", func(r *schemas.Record) {
		r.Transport = schemas.TransportStreamableHTTP
		ev := a
		r.Auth = &ev
	})
}

func TestTokens(t *testing.T) {
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	good := schemas.Token{FP: "fp-good", Kind: schemas.TokenJWT, Aud: schemas.Audience{"https://mcp.example.com/mcp"}, Exp: ts.Add(time.Hour).Unix()}
	cases := []struct {
		name  string
		build func(t *testing.T) []*schemas.Record
		want  map[string]detector.Severity
	}{
		{"benign token", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			c.call("x", `{}`, tdWithToken(good))
			c.call("y", `{}`, tdWithToken(good))
			d := tdHTTP(tdNew(t, "s2"), "api", "https://MCP.example.com:443/mcp/")
			d.call("x", `{}`, tdWithToken(good))
			return slices.Concat(c.recs, d.recs)
		}, nil},
		{"audience is the origin", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			tok := good
			tok.Aud = schemas.Audience{"https://mcp.example.com", "other"}
			c.call("x", `{}`, tdWithToken(tok))
			return c.recs
		}, nil},
		{"opaque audience is not judged", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			tok := good
			tok.Aud = schemas.Audience{"6731de76-14a6-49ae-97bc-6eba6914391e"}
			c.call("x", `{}`, tdWithToken(tok))
			return c.recs
		}, nil},
		{"audience mismatch", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			tok := good
			tok.Aud = schemas.Audience{"https://graph.other.example/"}
			c.call("x", `{}`, tdWithToken(tok))
			return c.recs
		}, map[string]detector.Severity{detector.RuleTokenAudienceMismatch: detector.High}},
		{"audience against the flow's resource", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://gw.example.com/api/mcp")
			c.auth(schemas.AuthEvent{Type: schemas.AuthAuthorizationRequest, Endpoint: "https://auth.example.com/authorize", CodeChallengeMethod: "S256", Resource: "https://mcp.example.com/mcp"})
			tok := good
			c.call("x", `{}`, tdWithToken(tok))
			return c.recs
		}, nil},
		{"one token at two servers", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			c.call("x", `{}`, tdWithToken(good))
			d := tdHTTP(tdNew(t, "s2"), "other", "https://mcp.attacker.example/mcp")
			tok := good
			tok.Aud = nil
			d.call("x", `{}`, tdWithToken(tok))
			return slices.Concat(c.recs, d.recs)
		}, map[string]detector.Severity{detector.RuleTokenMultiServer: detector.High}},
		{"one token from two hosts", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			c.call("x", `{}`, tdWithToken(good))
			d := tdHTTP(tdNew(t, "s2"), "api", "https://mcp.example.com/mcp")
			d.host = "host-2"
			d.call("x", `{}`, tdWithToken(good))
			return slices.Concat(c.recs, d.recs)
		}, map[string]detector.Severity{detector.RuleTokenMultiHost: detector.High}},
		{"expired", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			tok := good
			tok.Exp = ts.Add(-time.Hour).Unix()
			c.call("x", `{}`, tdWithToken(tok))
			c.call("x", `{}`, tdWithToken(tok))
			return c.recs
		}, map[string]detector.Severity{detector.RuleTokenExpired: detector.Medium}},
		{"within clock skew", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			tok := good
			tok.Exp = ts.Unix()
			c.call("x", `{}`, tdWithToken(tok))
			return c.recs
		}, nil},
		{"pkce S256", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			c.auth(schemas.AuthEvent{Type: schemas.AuthMetadata, Endpoint: "https://auth.example.com/.well-known/oauth-authorization-server"})
			c.auth(schemas.AuthEvent{Type: schemas.AuthAuthorizationRequest, Endpoint: "https://login.example.com/authorize", CodeChallengeMethod: "S256", RedirectURI: "http://127.0.0.1:33418/callback"})
			c.auth(schemas.AuthEvent{Type: schemas.AuthTokenRequest, Endpoint: "http://localhost:8080/token"})
			c.auth(schemas.AuthEvent{Type: schemas.AuthTokenResponse, Status: 200, Token: &schemas.Token{FP: "x", Iss: "https://auth.example.com"}})
			return c.recs
		}, nil},
		{"no pkce", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			c.auth(schemas.AuthEvent{Type: schemas.AuthAuthorizationRequest, Endpoint: "https://auth.example.com/authorize"})
			return c.recs
		}, map[string]detector.Severity{detector.RuleOAuthNoPKCE: detector.High}},
		{"plain pkce", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			c.auth(schemas.AuthEvent{Type: schemas.AuthAuthorizationRequest, Endpoint: "https://auth.example.com/authorize", CodeChallengeMethod: "plain"})
			return c.recs
		}, map[string]detector.Severity{detector.RuleOAuthNoPKCE: detector.High}},
		{"http endpoint", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			c.auth(schemas.AuthEvent{Type: schemas.AuthTokenRequest, Endpoint: "http://auth.example.com/token"})
			return c.recs
		}, map[string]detector.Severity{detector.RuleOAuthSuspiciousURL: detector.High}},
		{"userinfo", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			c.auth(schemas.AuthEvent{Type: schemas.AuthAuthorizationRequest, CodeChallengeMethod: "S256", Endpoint: "https://auth.example.com@evil.example/authorize"})
			return c.recs
		}, map[string]detector.Severity{detector.RuleOAuthSuspiciousURL: detector.High}},
		{"ip literal", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			c.auth(schemas.AuthEvent{Type: schemas.AuthAuthorizationRequest, CodeChallengeMethod: "S256", Endpoint: "https://203.0.113.7/authorize"})
			return c.recs
		}, map[string]detector.Severity{detector.RuleOAuthSuspiciousURL: detector.Medium}},
		{"punycode", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			c.auth(schemas.AuthEvent{Type: schemas.AuthAuthorizationRequest, CodeChallengeMethod: "S256", Endpoint: "https://xn--exmple-cua.com/authorize"})
			return c.recs
		}, map[string]detector.Severity{detector.RuleOAuthSuspiciousURL: detector.Medium}},
		{"endpoint off the issuer", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			c.auth(schemas.AuthEvent{Type: schemas.AuthMetadata, Endpoint: "https://auth.example.com/.well-known/oauth-authorization-server"})
			c.auth(schemas.AuthEvent{Type: schemas.AuthAuthorizationRequest, CodeChallengeMethod: "S256", Endpoint: "https://auth.example-login.net/authorize"})
			return c.recs
		}, map[string]detector.Severity{detector.RuleOAuthSuspiciousURL: detector.Medium}},
		{"http redirect", func(t *testing.T) []*schemas.Record {
			c := tdHTTP(tdNew(t, "s1"), "api", "https://mcp.example.com/mcp")
			c.auth(schemas.AuthEvent{Type: schemas.AuthAuthorizationRequest, CodeChallengeMethod: "S256", Endpoint: "https://auth.example.com/authorize", RedirectURI: "http://collect.example.net/cb"})
			return c.recs
		}, map[string]detector.Severity{detector.RuleOAuthSuspiciousURL: detector.Medium}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := tdRun(t, tc.build(t)...)
			tdExpect(t, fs, tc.want, "token.", "oauth.")
			n := 0
			for _, f := range fs {
				if f.Rule == detector.RuleTokenExpired {
					n++
				}
				if len(f.Evidence) == 0 || f.Evidence[0].Hash == "" {
					t.Errorf("%s: no evidence hash", f.Rule)
				}
			}
			if n > 1 {
				t.Errorf("token.expired reported %d times in one session", n)
			}
		})
	}
}
