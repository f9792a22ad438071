package proxy

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcptrail/mcptrail/collector/capture"
	"github.com/mcptrail/mcptrail/internal/syncbuf"
	"github.com/mcptrail/mcptrail/schemas"
)

func TestBodiesOverTheLimit(t *testing.T) {
	up := newFakeMCP()
	r := newRig(t, up, 1024)
	big := `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 4096) + `"}}`
	resp, body := r.do(t, call{method: "POST", body: big, session: "s"}, "")
	if resp.StatusCode != 200 || !up.led.has(&up.led.recv, sum([]byte(big))) || !up.led.has(&up.led.sent, sum(body)) {
		t.Fatalf("big body not relayed: %d", resp.StatusCode)
	}
	bad := `{"jsonrpc":"2.0", not json`
	r.do(t, call{method: "POST", body: bad, session: "s"}, "")
	r.sink.waitLines(t, 4)
	recs := r.sink.records(t)
	tests := []struct {
		dir    schemas.Direction
		reason string
		bytes  int
	}{
		{schemas.ClientToServer, "larger than the capture limit", len(big)},
		{schemas.ServerToClient, "", 0},
		{schemas.ClientToServer, "not JSON", len(bad)},
	}
	for i, tt := range tests {
		rec := recs[i]
		if rec.Dir != tt.dir {
			t.Errorf("record %d dir %s", i, rec.Dir)
		}
		if tt.reason == "" {
			if len(rec.Msg) == 0 {
				t.Errorf("record %d: want a message", i)
			}
			continue
		}
		if rec.ParseError == nil || !strings.Contains(rec.ParseError.Reason, tt.reason) || rec.ParseError.Bytes != tt.bytes {
			t.Errorf("record %d parse error %+v, want %q of %d bytes", i, rec.ParseError, tt.reason, tt.bytes)
		}
	}
}

func TestUpstreamDown(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	sink := &memSink{}
	rec, _ := capture.New(capture.Config{Host: "h", Server: schemas.Server{Name: "n"}, Transport: schemas.TransportStreamableHTTP, Sink: sink})
	p, err := New(Config{Upstream: deadURL + "/mcp", ServerName: "n", Recorder: rec, SiteKey: testSiteKey, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/mcp?api_key=query-secret", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer down-token-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), "upstream request failed") {
		t.Fatalf("no warning logged: %s", logs.String())
	}
	sink.waitLines(t, 2)
	for _, s := range []string{"query-secret", "down-token-secret"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log holds %q: %s", s, logs.String())
		}
		for _, l := range sink.all() {
			if strings.Contains(string(l), s) {
				t.Errorf("record holds %q: %s", s, l)
			}
		}
	}
}

func TestNewRejects(t *testing.T) {
	rec, _ := capture.New(capture.Config{Host: "h", Server: schemas.Server{Name: "n"}, Transport: schemas.TransportStreamableHTTP, Sink: &memSink{}})
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no name", Config{Upstream: "http://127.0.0.1:1/mcp"}, "name"},
		{"relative upstream", Config{Upstream: "/mcp", ServerName: "n"}, "absolute"},
		{"ftp upstream", Config{Upstream: "ftp://x/mcp", ServerName: "n"}, "absolute"},
		{"short key", Config{Upstream: "http://127.0.0.1:1/mcp", ServerName: "n", Recorder: rec, SiteKey: []byte("k")}, "site key"},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		}
	}
}
