package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/collector/token"
	"github.com/mcptrail/mcptrail/schemas"
	"github.com/mcptrail/mcptrail/schemas/mcp"
)

// call is one client request through the proxy.
type call struct {
	method, body, session, accept string
}

// do sends c through the proxy and returns the response and its body.
func (r *rig) do(t *testing.T, c call, bearer string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(c.method, r.proxy.URL+"/mcp", strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", c.accept)
	if c.accept == "" {
		req.Header.Set("Accept", "application/json, text/event-stream")
	}
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Cookie", "sid=cookie-secret-value")
	req.Header.Set("Origin", "http://localhost")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v (status %d, headers %v)", c.method, c.body, err, resp.StatusCode, resp.Header)
	}
	return resp, b
}

func TestStreamableHTTP(t *testing.T) {
	up := newFakeMCP()
	r := newRig(t, up, 0)
	jwt := makeJWT(t, map[string]any{"iss": "https://as.example", "sub": "alice", "aud": "http://mcp.example/mcp",
		"client_id": "cli-1", "scope": "mcp:read mcp:write", "exp": 4102444800, "iat": 1700000000, "jti": "jti-1"})

	steps := []struct {
		name       string
		call       call
		wantStatus int
		wantMsgs   int // JSON-RPC records expected from this step, both ways
	}{
		{"initialize", call{method: "POST", body: `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test-client","version":"1.2.3"}}}`}, 200, 2},
		{"initialized", call{method: "POST", body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, session: "sess-1"}, 202, 1},
		{"batch", call{method: "POST", body: `[{"jsonrpc":"2.0","id":2,"method":"tools/list"},{"jsonrpc":"2.0","id":3,"method":"ping"}]`, session: "sess-1"}, 200, 2},
		{"plain", call{method: "POST", body: `{"jsonrpc":"2.0","id":4,"method":"resources/list","params":{}}`, session: "sess-1"}, 200, 2},
	}
	want := 0
	for _, s := range steps {
		resp, body := r.do(t, s.call, jwt)
		if resp.StatusCode != s.wantStatus {
			t.Fatalf("%s: status %d, want %d", s.name, resp.StatusCode, s.wantStatus)
		}
		if !up.led.has(&up.led.recv, sum([]byte(s.call.body))) {
			t.Errorf("%s: the upstream did not receive the exact request body", s.name)
		}
		if len(body) > 0 && !up.led.has(&up.led.sent, sum(body)) {
			t.Errorf("%s: the client did not receive the exact response body", s.name)
		}
		want += s.wantMsgs
	}

	// A streamed reply: the first event must arrive while the upstream
	// still holds the second.
	streamed := streamCall(t, r, `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"x","arguments":{}}}`, jwt, up)
	if !up.led.has(&up.led.sent, sum(streamed)) && !bytes.Contains(streamed, []byte(`"id":5`)) {
		t.Errorf("stream not relayed: %q", streamed)
	}
	want += 4 // the request, progress, message, result
	up.release = make(chan struct{})

	// The GET stream: a priming event (no message), a notification, then
	// a server request after release.
	getStream(t, r, jwt, up)
	want += 2

	resp, _ := r.do(t, call{method: "DELETE", session: "sess-1"}, jwt)
	if resp.StatusCode != 200 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	select {
	case what := <-up.timedOut:
		t.Fatalf("%s: the upstream waited for the client in vain: the proxy buffers", what)
	default:
	}

	// Records: msg records, plus the GET and DELETE HTTP records.
	r.sink.waitLines(t, want+2)
	time.Sleep(50 * time.Millisecond)
	recs := r.sink.records(t)
	seen := map[string]int{}
	var msgs, httpOnly int
	wantFP := token.Fingerprint(testSiteKey, []byte(jwt))
	for _, rec := range recs {
		if rec.Session != "sess-1" {
			t.Errorf("record with session %q: %s", rec.Session, rec.Msg)
		}
		if rec.Transport != schemas.TransportStreamableHTTP || rec.HTTP == nil || rec.HTTP.Path != "/mcp" {
			t.Errorf("record transport %q http %+v", rec.Transport, rec.HTTP)
		}
		if rec.Dir == schemas.ClientToServer {
			if rec.Token == nil || rec.Token.FP != wantFP || rec.Token.Kind != schemas.TokenJWT || rec.Token.Sub != "alice" ||
				rec.Token.Iss != "https://as.example" || rec.Token.ClientID != "cli-1" || rec.Token.Scope != "mcp:read mcp:write" ||
				rec.Token.Exp != 4102444800 || len(rec.Token.Aud) != 1 {
				t.Errorf("c2s token %+v", rec.Token)
			}
			if rec.HTTP.RemoteAddr == "" || rec.HTTP.Headers["origin"] != "http://localhost" {
				t.Errorf("c2s http facts %+v", rec.HTTP)
			}
		} else if rec.Token != nil {
			t.Errorf("s2c record with a token")
		}
		if len(rec.Msg) == 0 {
			httpOnly++
			continue
		}
		msgs++
		ms, _, err := mcp.Parse(rec.Msg)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			seen[string(rec.Dir)+" "+string(m.Method)+" "+string(m.ID)]++
		}
		if rec.Client == nil || rec.Client.Name != "test-client" {
			t.Errorf("client not learnt: %+v", rec.Client)
		}
	}
	if msgs != want || httpOnly != 2 {
		t.Errorf("%d message records and %d HTTP records; want %d and 2", msgs, httpOnly, want)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("message %q recorded %d times", k, n)
		}
	}
	for _, k := range []string{"c2s initialize 1", "s2c  1", "c2s notifications/initialized ", "c2s tools/list 2", "c2s ping 3",
		"s2c  2", "s2c  3", "c2s tools/call 5", "s2c notifications/progress ", "s2c notifications/message ", "s2c  5",
		"s2c notifications/tools/list_changed ", `s2c roots/list "s1"`} {
		if seen[k] != 1 {
			t.Errorf("message %q recorded %d times; seen %v", k, seen[k], seen)
		}
	}
	if last := recs[len(recs)-1]; last.Server.Version != "9.9.9" {
		t.Errorf("server version not learnt: %+v", last.Server)
	}
	r.checkNoSecret(t, jwt, "cookie-secret-value", strings.Split(jwt, ".")[2])
}

// streamCall posts body, expects an SSE reply, and checks that its first
// event arrives before the upstream sends the second.
func streamCall(t *testing.T, r *rig, body, bearer string, up *fakeMCP) []byte {
	t.Helper()
	req, _ := http.NewRequest("POST", r.proxy.URL+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", "sess-1")
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Origin", "http://localhost")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(resp.Body, &got))
	first := readEvent(t, br)
	if !strings.Contains(first, "notifications/progress") {
		t.Fatalf("first event %q", first)
	}
	close(up.release) // only now may the upstream send the rest
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	whole := append([]byte(first), rest...)
	var sent []byte
	for _, part := range []string{"id: 1\n", ": keep-alive"} {
		if !bytes.Contains(whole, []byte(part)) {
			t.Fatalf("stream lacks %q", part)
		}
	}
	sent = whole
	// The upstream sent three chunks; their concatenation is what came.
	if !bytes.HasSuffix(sent, []byte("}}\n\n")) || !bytes.Contains(sent, []byte("\r\ndata: \"method\"")) {
		t.Fatalf("stream changed: %q", sent)
	}
	if !up.led.has(&up.led.recv, sum([]byte(body))) {
		t.Error("the upstream did not receive the exact request body")
	}
	return sent
}

// getStream opens the GET stream and reads it to its end, checking that
// the first message event arrives before the upstream sends the next.
func getStream(t *testing.T, r *rig, bearer string, up *fakeMCP) {
	t.Helper()
	req, _ := http.NewRequest("GET", r.proxy.URL+"/mcp", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", "sess-1")
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Origin", "http://localhost")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if ev := readEvent(t, br); !strings.Contains(ev, "id: p0") {
		t.Fatalf("priming event %q", ev)
	}
	if ev := readEvent(t, br); !strings.Contains(ev, "list_changed") {
		t.Fatalf("event %q", ev)
	}
	close(up.release)
	if rest, _ := io.ReadAll(br); !bytes.Contains(rest, []byte("roots/list")) {
		t.Fatalf("rest %q", rest)
	}
}
