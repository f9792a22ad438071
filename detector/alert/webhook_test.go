package alert

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/detector"
)

var testSecret = []byte("0123456789abcdef-test-secret")

// fastRetry keeps the tests' backoff short.
var fastRetry = Retry{Attempts: 3, Initial: time.Millisecond, Max: 5 * time.Millisecond}

// hookServer answers with the statuses in order (200 after them) and keeps
// each request.
type hookServer struct {
	t        *testing.T
	statuses []int
	mu       sync.Mutex
	reqs     []*http.Request
	bodies   [][]byte
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		h.t.Error(err)
	}
	h.mu.Lock()
	n := len(h.reqs)
	h.reqs = append(h.reqs, r)
	h.bodies = append(h.bodies, body)
	h.mu.Unlock()
	status := http.StatusOK
	if n < len(h.statuses) {
		status = h.statuses[n]
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "0")
	}
	w.WriteHeader(status)
	if status >= 400 {
		_, _ = io.WriteString(w, "nope: "+http.StatusText(status))
	}
}

func testAlert() Alert {
	return Alert{
		Key: "sess-1", Change: Opened, Session: "sess-1", Severity: detector.Critical,
		Title: "Data read from a file leaves in a URL", Rule: "exfil.url-args",
		Rules:   []string{"exfil.url-args", "injection.follow"},
		CallIDs: []string{"7", "8"}, Count: 2,
		FirstTS: t0, LastTS: t0.Add(3 * time.Second),
		Host: "laptop-7", Server: "filesystem", Client: "claude-code",
		URL:    "https://grafana.example/d/session?var-session=sess-1",
		EndsAt: t0.Add(time.Hour),
	}
}

func TestWebhookSignsAndDelivers(t *testing.T) {
	h := &hookServer{t: t}
	srv := httptest.NewServer(h)
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL + "/hooks/mcptrail", Secret: testSecret, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(context.Background(), []Alert{testAlert()}); err != nil {
		t.Fatal(err)
	}
	if len(h.reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(h.reqs))
	}
	r, body := h.reqs[0], h.bodies[0]
	if err := Verify(testSecret, r.Header, body, time.Now(), 0); err != nil {
		t.Errorf("receiver's Verify: %v", err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if id := r.Header.Get(DeliveryHeader); len(id) != 16 {
		t.Errorf("%s %q, want 16 hex digits", DeliveryHeader, id)
	}
	var got WebhookBody
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body: %v\n%s", err, body)
	}
	if got.Version != WebhookVersion || got.Source != "mcptrail" || len(got.Alerts) != 1 {
		t.Fatalf("body %s", body)
	}
	if a := got.Alerts[0]; !alertsEqual(a, testAlert()) {
		t.Errorf("alert after the round trip\n got %+v\nwant %+v", a, testAlert())
	}
	for _, member := range []string{`"severity":"critical"`, `"change":"opened"`, `"session":"sess-1"`, `"first_ts":"2026-03-14T09:26:53Z"`} {
		if !strings.Contains(string(body), member) {
			t.Errorf("body lacks %s: %s", member, body)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	body := []byte(`{"alerts":[]}`)
	now := time.Unix(1_767_225_600, 0)
	good := func() http.Header {
		h := http.Header{}
		h.Set(TimestampHeader, "1767225600")
		h.Set(SignatureHeader, Sign(testSecret, 1_767_225_600, body))
		return h
	}
	tests := []struct {
		name   string
		mod    func(h http.Header)
		secret []byte
		body   []byte
		now    time.Time
		want   string // "" for success
	}{
		{name: "good", mod: func(http.Header) {}},
		{name: "other secret", mod: func(http.Header) {}, secret: []byte("another-secret-0123"), want: "mismatch"},
		{name: "changed body", mod: func(http.Header) {}, body: []byte(`{"alerts":[1]}`), want: "mismatch"},
		{name: "replayed with a fresh timestamp", mod: func(h http.Header) { h.Set(TimestampHeader, "1767225660") }, now: now.Add(time.Minute), want: "mismatch"},
		{name: "too old", mod: func(http.Header) {}, now: now.Add(6 * time.Minute), want: "away from now"},
		{name: "no timestamp", mod: func(h http.Header) { h.Del(TimestampHeader) }, want: "not Unix seconds"},
		{name: "no signature", mod: func(h http.Header) { h.Del(SignatureHeader) }, want: "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := good()
			tt.mod(h)
			secret, b, at := testSecret, body, now
			if tt.secret != nil {
				secret = tt.secret
			}
			if tt.body != nil {
				b = tt.body
			}
			if !tt.now.IsZero() {
				at = tt.now
			}
			err := Verify(secret, h, b, at, 0)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Verify: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Verify: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestSignKnownAnswer(t *testing.T) {
	// HMAC-SHA256(key "secret", "1700000000.{}"), computed independently (openssl and Python agree):
	// printf '1700000000.{}' | openssl dgst -sha256 -hmac secret
	const want = "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
	got := Sign([]byte("secret"), 1_700_000_000, []byte("{}"))
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestWebhookRetries(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int
		wantReqs  int
		wantErr   string // "" for success
		permanent bool
	}{
		{name: "5xx then success", statuses: []int{503, 502}, wantReqs: 3},
		{name: "429 then success", statuses: []int{429}, wantReqs: 2},
		{name: "5xx until giving up", statuses: []int{500, 500, 500, 500}, wantReqs: 3, wantErr: "status 500 Internal Server Error: nope: Internal Server Error (gave up after 3 attempts)"},
		{name: "4xx fails at once", statuses: []int{401}, wantReqs: 1, wantErr: "status 401 Unauthorized: nope: Unauthorized", permanent: true},
		{name: "404 fails at once", statuses: []int{404}, wantReqs: 1, wantErr: "status 404 Not Found", permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &hookServer{t: t, statuses: tt.statuses}
			srv := httptest.NewServer(h)
			defer srv.Close()
			w, err := NewWebhook(WebhookConfig{URL: srv.URL + "/secret-path-token", Secret: testSecret, Retry: fastRetry})
			if err != nil {
				t.Fatal(err)
			}
			err = w.Send(context.Background(), []Alert{testAlert()})
			if len(h.reqs) != tt.wantReqs {
				t.Errorf("%d requests, want %d", len(h.reqs), tt.wantReqs)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Send: %v, want an error with %q", err, tt.wantErr)
			}
			if err != nil {
				if IsPermanent(err) != tt.permanent {
					t.Errorf("IsPermanent(%v) = %v", err, !tt.permanent)
				}
				if strings.Contains(err.Error(), "secret-path-token") {
					t.Errorf("error shows the URL's path: %v", err)
				}
			}
			// Every attempt carries the same delivery id and a valid signature.
			for i, r := range h.reqs {
				if err := Verify(testSecret, r.Header, h.bodies[i], time.Now(), 0); err != nil {
					t.Errorf("attempt %d: %v", i+1, err)
				}
				if r.Header.Get(DeliveryHeader) != h.reqs[0].Header.Get(DeliveryHeader) {
					t.Errorf("attempt %d has another delivery id", i+1)
				}
			}
		})
	}
}

func TestWebhookNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/secret-path-token"
	srv.Close() // nothing listens any more
	w, err := NewWebhook(WebhookConfig{URL: url, Secret: testSecret, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Send(context.Background(), []Alert{testAlert()})
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") || IsPermanent(err) {
		t.Fatalf("Send to a closed port: %v", err)
	}
	if strings.Contains(err.Error(), "secret-path-token") {
		t.Errorf("error shows the URL's path: %v", err)
	}
}

func TestWebhookContextCancel(t *testing.T) {
	h := &hookServer{t: t, statuses: []int{500, 500, 500, 500}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, Secret: testSecret, Retry: Retry{Attempts: 10, Initial: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = w.Send(ctx, []Alert{testAlert()})
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Fatalf("Send: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v after its context ended", d)
	}
}

func TestNewWebhookErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  WebhookConfig
		want string
	}{
		{"short secret", WebhookConfig{URL: "https://example.com/h", Secret: []byte("short")}, "secret"},
		{"relative URL", WebhookConfig{URL: "/h", Secret: testSecret}, "absolute"},
		{"other scheme", WebhookConfig{URL: "ftp://example.com/h", Secret: testSecret}, "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewWebhook(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewWebhook: %v, want an error with %q", err, tt.want)
			}
		})
	}
}
