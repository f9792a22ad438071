package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mcptrail/mcptrail/schemas"
)

func TestAuthDiscovery(t *testing.T) {
	up := newFakeMCP()
	up.needToken = true
	r := newRig(t, up, 0)
	resp, _ := r.do(t, call{method: "POST", body: `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`}, "")
	if resp.StatusCode != 401 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, path := range []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-authorization-server"} {
		resp, err := http.Get(r.proxy.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !up.led.has(&up.led.sent, sum(b)) {
			t.Errorf("%s: body changed", path)
		}
	}
	// initialize, the 401 (challenge and non-JSON-RPC body), two documents.
	r.sink.waitLines(t, 5)
	recs := r.sink.records(t)
	var auths []*schemas.AuthEvent
	session := recs[0].Session
	for _, rec := range recs {
		if rec.Session != session || !strings.HasPrefix(session, "conn-") {
			t.Errorf("session %q, want one conn- session", rec.Session)
		}
		if rec.Auth != nil {
			auths = append(auths, rec.Auth)
		}
	}
	host := strings.TrimPrefix(r.upstream.URL, "http://")
	want := []schemas.AuthEvent{
		{Type: schemas.AuthMetadata, Status: 401, Endpoint: "http://" + host + "/.well-known/oauth-protected-resource/mcp", Scope: "mcp:read mcp:write"},
		{Type: schemas.AuthMetadata, Status: 200, Endpoint: "http://" + host + "/.well-known/oauth-protected-resource/mcp", Resource: "http://" + host + "/mcp", Scope: "mcp:read mcp:write"},
		{Type: schemas.AuthMetadata, Status: 200, Endpoint: "http://" + host + "/.well-known/oauth-authorization-server", Scope: "mcp:read"},
	}
	if len(auths) != len(want) {
		t.Fatalf("%d auth records, want %d", len(auths), len(want))
	}
	for i := range want {
		if *auths[i] != want[i] {
			t.Errorf("auth %d = %+v\nwant %+v", i, *auths[i], want[i])
		}
	}
	// The 401's record carries the challenge header.
	for _, rec := range recs {
		if rec.Auth != nil && rec.Auth.Status == 401 && !strings.Contains(rec.HTTP.Headers["www-authenticate"], "resource_metadata") {
			t.Errorf("401 record without its challenge: %+v", rec.HTTP)
		}
	}
}

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		in   string
		want challenge
	}{
		{`Bearer resource_metadata="https://x/.well-known/oauth-protected-resource"`, challenge{resourceMetadata: "https://x/.well-known/oauth-protected-resource"}},
		{`Bearer realm="a, b", error="invalid_token", Resource_Metadata=https://x/m, scope="a \"b\""`, challenge{resourceMetadata: "https://x/m", scope: `a "b"`}},
		{`Basic realm="x"`, challenge{}},
		{`Bearer scope="unterminated`, challenge{scope: "unterminated"}},
		{``, challenge{}},
	}
	for _, tt := range tests {
		if got := parseChallenge(tt.in); got != tt.want {
			t.Errorf("parseChallenge(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
