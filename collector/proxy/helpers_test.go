package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/collector/capture"
	"github.com/mcptrail/mcptrail/internal/syncbuf"
	"github.com/mcptrail/mcptrail/schemas"
)

var testSiteKey = []byte("0123456789abcdef0123456789abcdef")

// memSink keeps capture lines in memory.
type memSink struct {
	mu    sync.Mutex
	lines [][]byte
}

func (m *memSink) Write(_ string, line []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lines = append(m.lines, append([]byte(nil), line...))
	return nil
}

func (m *memSink) Close(context.Context) error { return nil }

func (m *memSink) all() [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([][]byte(nil), m.lines...)
}

// records reads the lines back, checking each record and the chain.
func (m *memSink) records(t *testing.T) []*schemas.Record {
	t.Helper()
	lines := m.all()
	r := schemas.NewReader(bytes.NewReader(append(bytes.Join(lines, []byte("\n")), '\n')))
	checker := schemas.NewChainChecker()
	var out []*schemas.Record
	for {
		rec, err := r.Next()
		if err != nil {
			if !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("line %d: %v", r.Line(), err)
			}
			return out
		}
		if err := rec.Validate(); err != nil {
			t.Fatalf("record %d invalid: %v", len(out)+1, err)
		}
		if problems, err := checker.Check(rec); err != nil || len(problems) > 0 {
			t.Fatalf("chain: %v %v", problems, err)
		}
		out = append(out, rec)
	}
}

// waitLines waits until the sink holds at least n lines.
func (m *memSink) waitLines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(m.all()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("sink holds %d lines, want %d", len(m.all()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rig is a proxy in front of an upstream, with its capture and logs.
type rig struct {
	upstream *httptest.Server
	proxy    *httptest.Server
	sink     *memSink
	logs     *syncbuf.Buffer
}

// newRig starts a capturing proxy in front of upstream.
func newRig(t testing.TB, upstream http.Handler, maxBody int64) *rig {
	t.Helper()
	return newRigRedacting(t, upstream, maxBody, nil)
}

// newRigRedacting is newRig with a redactor (nil for none).
func newRigRedacting(t testing.TB, upstream http.Handler, maxBody int64, redactor capture.Redactor) *rig {
	t.Helper()
	r := &rig{upstream: httptest.NewServer(upstream), sink: &memSink{}, logs: &syncbuf.Buffer{}}
	t.Cleanup(r.upstream.Close)
	log := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rec, err := capture.New(capture.Config{
		Host: "test-host", Server: schemas.Server{Name: "test-mcp", URL: r.upstream.URL + "/mcp"},
		Transport: schemas.TransportStreamableHTTP, Sink: r.sink, Logger: log, Redactor: redactor,
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Upstream: r.upstream.URL + "/mcp", ServerName: "test-mcp", Recorder: rec,
		SiteKey: testSiteKey, MaxBodyBytes: maxBody, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("proxy logs:\n" + r.logs.String())
		}
	})
	r.proxy = httptest.NewServer(p)
	t.Cleanup(r.proxy.Close)
	return r
}

// checkNoSecret fails when secret occurs in any capture line or log line.
func (r *rig) checkNoSecret(t *testing.T, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for i, l := range r.sink.all() {
			if bytes.Contains(l, []byte(s)) {
				t.Errorf("capture line %d holds a secret %q: %s", i+1, s, l)
			}
		}
		if strings.Contains(r.logs.String(), s) {
			t.Errorf("logs hold a secret %q:\n%s", s, r.logs.String())
		}
	}
	for i, l := range r.sink.all() {
		if bytes.Contains(bytes.ToLower(l), []byte(`"authorization"`)) || bytes.Contains(bytes.ToLower(l), []byte(`"cookie"`)) {
			t.Errorf("capture line %d holds an authorization or cookie header: %s", i+1, l)
		}
	}
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ledger notes the hashes of the bodies an upstream received and sent.
type ledger struct {
	mu   sync.Mutex
	recv []string
	sent []string
}

func (l *ledger) received(b []byte) {
	l.mu.Lock()
	l.recv = append(l.recv, sum(b))
	l.mu.Unlock()
}

func (l *ledger) sending(b []byte) []byte {
	l.mu.Lock()
	l.sent = append(l.sent, sum(b))
	l.mu.Unlock()
	return b
}

func (l *ledger) has(list *[]string, h string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range *list {
		if x == h {
			return true
		}
	}
	return false
}

// makeJWT builds a JWS with the given claims (the signature is junk).
func makeJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]any{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims) + ".c2lnbmF0dXJlLXNpZ25hdHVyZQ"
}

// readEvent reads one SSE event block (up to a blank line) from r.
func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if line == "\n" || err != nil {
			if err != nil && err != io.EOF {
				t.Fatalf("read event: %v", err)
			}
			return b.String()
		}
	}
}

// flush flushes w or fails.
func flush(w http.ResponseWriter) {
	_ = http.NewResponseController(w).Flush()
}
