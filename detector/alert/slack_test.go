package alert

import (
	"bytes"
	"context"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/mcptrail/mcptrail/detector"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it)\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func indentJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v, json.Deterministic(true), jsontext.WithIndent("  "))
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestSlackMessageGolden(t *testing.T) {
	escalated := testAlert()
	escalated.Change = Escalated
	escalated.Title = "Token <replayed> & reused"
	escalated.Session = "sess`with`ticks"
	minimal := Alert{Key: "s", Change: Opened, Session: "s", Severity: detector.High, Title: "t", Rule: "r", Rules: []string{"r"}, Count: 1}
	golden(t, "slack.golden.json", indentJSON(t, map[string]SlackPayload{
		"opened":    SlackMessage(ptr(testAlert())),
		"escalated": SlackMessage(&escalated),
		"minimal":   SlackMessage(&minimal),
	}))
}

func TestSlackMessageLimits(t *testing.T) {
	a := testAlert()
	a.Title = strings.Repeat("é", 400)
	a.URL = "https://grafana.example/" + strings.Repeat("x", 4000)
	for i := range 2000 {
		a.CallIDs = append(a.CallIDs, "call-"+strings.Repeat("9", i%7))
	}
	m := SlackMessage(&a)
	if h := m.Blocks[0].Text.Text; len(h) > slackHeaderMax || !utf8.ValidString(h) {
		t.Errorf("header %d bytes (valid UTF-8 %v)", len(h), utf8.ValidString(h))
	}
	if len(m.Text) > slackTextMax || !utf8.ValidString(m.Text) {
		t.Errorf("text %d bytes", len(m.Text))
	}
	for _, b := range m.Blocks {
		if b.Type == "actions" {
			t.Error("a button with a URL over Slack's limit")
		}
		if b.Type == "context" && len(b.Elements[0].Text.(string)) > slackContextMax {
			t.Errorf("context %d bytes", len(b.Elements[0].Text.(string)))
		}
	}
}

func TestSlackSend(t *testing.T) {
	h := &hookServer{t: t, statuses: []int{200, 400}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	s, err := NewSlack(SlackConfig{URL: srv.URL + "/services/T000/B000/XXXXSECRET", Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := testAlert(), testAlert(), testAlert()
	b.Key, c.Key = "b", "c"
	err = s.Send(context.Background(), []Alert{a, b, c})
	if err == nil || !strings.Contains(err.Error(), "alert 2 of 3") || !IsPermanent(err) {
		t.Fatalf("Send: %v, want a permanent error on alert 2 of 3", err)
	}
	if strings.Contains(err.Error(), "XXXXSECRET") {
		t.Errorf("error shows the webhook's secret path: %v", err)
	}
	if len(h.reqs) != 2 {
		t.Fatalf("%d posts, want 2 (one per alert, stopping at the failure)", len(h.reqs))
	}
	var p SlackPayload
	if err := json.Unmarshal(h.bodies[0], &p); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Text, "[CRITICAL] Data read from a file") {
		t.Errorf("text %q", p.Text)
	}
	for _, secret := range []string{"XXXXSECRET", string(testSecret)} {
		if bytes.Contains(h.bodies[0], []byte(secret)) {
			t.Errorf("payload contains %q", secret)
		}
	}
}

func ptr[T any](v T) *T { return &v }
