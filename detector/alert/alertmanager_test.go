package alert

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/detector"
)

// amBinaries are where Debian's prometheus-alertmanager package puts its
// binary; MCPTRAIL_ALERTMANAGER overrides them.
var amBinaries = []string{"prometheus-alertmanager", "/usr/bin/prometheus-alertmanager", "alertmanager"}

// startAlertmanager runs a real Alertmanager on a free loopback port with the
// test configuration, clustering off and a temporary storage path, and
// returns its base URL. It stops the process in t.Cleanup. Without the
// binary the test is skipped, unless CI is set.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	bin := findAlertmanager()
	if bin == "" {
		msg := "prometheus-alertmanager not found (run deployments/alertmanager/install.sh, or set MCPTRAIL_ALERTMANAGER)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + "; set CI=1 to make this a failure")
	}
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join("testdata", "alertmanager.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "alertmanager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	for attempt := 1; ; attempt++ {
		addr := freeLoopbackAddr(t)
		cmd := exec.Command(bin,
			"--config.file="+cfgPath,
			"--storage.path="+filepath.Join(dir, "data"),
			"--web.listen-address="+addr,
			"--cluster.listen-address=", // no gossip: a single instance
			"--log.level=info",
		)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test binary
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		pid := cmd.Process.Pid
		t.Cleanup(func() {
			_ = syscall.Kill(pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(pid, syscall.SIGKILL)
				<-done
			}
			if t.Failed() {
				if b, err := os.ReadFile(logPath); err == nil {
					t.Logf("alertmanager log:\n%s", b)
				}
			}
		})
		base := "http://" + addr
		if err := waitReady(base, done); err == nil {
			return base
		} else if attempt >= 3 {
			t.Fatalf("alertmanager (pid %d) not ready: %v", pid, err)
		} else {
			t.Logf("alertmanager on %s: %v; retrying on another port", addr, err)
		}
	}
}

func findAlertmanager() string {
	if p := os.Getenv("MCPTRAIL_ALERTMANAGER"); p != "" {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
		return ""
	}
	for _, name := range amBinaries {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// freeLoopbackAddr returns a 127.0.0.1 address with a port that was free a
// moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitReady polls /-/ready until it answers 200, the process exits or 30 s
// pass.
func waitReady(base string, exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited: %v", err)
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no 200 from %s/-/ready in 30s", base)
}

// gettableAlert is the part of GET /api/v2/alerts the tests read.
type gettableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

// activeAlerts returns Alertmanager's current (unresolved) alerts, sorted by
// session.
func activeAlerts(t *testing.T, base string) []gettableAlert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts?active=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v2/alerts: %d %v: %s", resp.StatusCode, err, body)
	}
	var alerts []gettableAlert
	if err := json.Unmarshal(body, &alerts, json.RejectUnknownMembers(false)); err != nil {
		t.Fatalf("GET /api/v2/alerts: %v: %s", err, body)
	}
	slices.SortFunc(alerts, func(a, b gettableAlert) int { return strings.Compare(a.Labels["session"], b.Labels["session"]) })
	return alerts
}

func TestAlertmanagerReal(t *testing.T) {
	base := startAlertmanager(t)
	ctx := context.Background()
	am, err := NewAlertmanager(AlertmanagerConfig{URL: base, Labels: map[string]string{"env": "test"}, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	link, err := NewLinker("https://grafana.example/d/mcptrail-session?var-session={{.Session | urlquery}}")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Outputs = []Output{am}
	cfg.Link = link
	n, err := NewNotifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	f := func(session, rule string, sev detector.Severity, calls ...string) detector.Finding {
		fd := finding(session, rule, sev, 0, calls...)
		fd.TS = now.Add(-time.Minute)
		return fd
	}

	// Two findings of one session: one incident, one alert.
	must(t, n.Add(ctx, f("sess-A", "exfil.url-args", detector.High, "7"), f("sess-A", "injection.follow", detector.High, "8")))
	got := activeAlerts(t, base)
	if len(got) != 1 {
		t.Fatalf("%d alerts in Alertmanager, want 1: %+v", len(got), got)
	}
	a := got[0]
	wantLabels := map[string]string{
		"alertname": DefaultAlertName, "severity": "high", "session": "sess-A", "rule": "exfil.url-args", "env": "test",
	}
	if !mapsEqual(a.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", a.Labels, wantLabels)
	}
	url := "https://grafana.example/d/mcptrail-session?var-session=sess-A"
	wantAnn := map[string]string{
		"summary":     "[high] exfil.url-args in sess-A",
		"session_url": url,
		"rules":       "exfil.url-args, injection.follow",
		"call_ids":    "7, 8",
		"findings":    "2",
		"host":        "laptop-7",
		"server":      "filesystem",
		"client":      "claude-code",
		"first_seen":  now.Add(-time.Minute).Format(time.RFC3339Nano),
		"last_seen":   now.Add(-time.Minute).Format(time.RFC3339Nano),
	}
	for k, v := range wantAnn {
		if a.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, a.Annotations[k], v)
		}
	}
	if d := a.Annotations["description"]; !strings.Contains(d, "2 findings of 2 rules in MCP session sess-A") || !strings.Contains(d, url) {
		t.Errorf("description %q", d)
	}
	if a.GeneratorURL != url || a.Status.State != "active" || !a.StartsAt.Equal(now.Add(-time.Minute)) {
		t.Errorf("generatorURL %q, state %q, startsAt %v", a.GeneratorURL, a.Status.State, a.StartsAt)
	}
	if left := time.Until(a.EndsAt); left < 3*time.Minute || left > 4*time.Minute+time.Second {
		t.Errorf("endsAt in %v, want about four refresh intervals (4m)", left)
	}
	fingerprint := a.Fingerprint

	// The same incident sent twice more (a duplicate finding changes nothing;
	// the output posts the snapshot again): still one alert, the same one.
	must(t, n.Add(ctx, f("sess-A", "exfil.url-args", detector.High, "7")))
	snap := Alert{Key: "sess-A", Session: "sess-A", Severity: detector.High, Title: "exfil.url-args in sess-A",
		Rule: "exfil.url-args", Rules: []string{"exfil.url-args", "injection.follow"}, Count: 2,
		FirstTS: now.Add(-time.Minute), LastTS: now.Add(-time.Minute), URL: url, EndsAt: now.Add(time.Hour)}
	must(t, am.Send(ctx, []Alert{snap}))
	must(t, am.Send(ctx, []Alert{snap}))
	if got := activeAlerts(t, base); len(got) != 1 || got[0].Fingerprint != fingerprint {
		t.Fatalf("after sending the incident again: %d alerts (%+v), want the one alert %s", len(got), got, fingerprint)
	}

	// Escalation: the severity label changes; the old label set is resolved,
	// so the incident is still one active alert.
	must(t, n.Add(ctx, f("sess-A", "token.replay", detector.Critical, "9")))
	got = activeAlerts(t, base)
	if len(got) != 1 {
		t.Fatalf("after escalation: %d active alerts, want 1: %+v", len(got), got)
	}
	if got[0].Labels["severity"] != "critical" || got[0].Labels["rule"] != "token.replay" || got[0].Annotations["findings"] != "3" {
		t.Errorf("after escalation: labels %v, annotations %v", got[0].Labels, got[0].Annotations)
	}

	// Another session is another alert.
	must(t, n.Add(ctx, f("sess-B", "tool.rug-pull", detector.High)))
	got = activeAlerts(t, base)
	if len(got) != 2 || got[1].Labels["session"] != "sess-B" {
		t.Fatalf("with a second session: %+v", got)
	}
	if _, ok := got[1].Annotations["call_ids"]; ok {
		t.Errorf("sess-B has no calls, yet a call_ids annotation: %v", got[1].Annotations)
	}

	// Alertmanager rejects an invalid alert with 400: a clear, permanent error.
	bad, err := NewAlertmanager(AlertmanagerConfig{URL: base, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	bad.cfg.Labels = map[string]string{"0-not-a-label": "x"} // NewAlertmanager refuses it; Alertmanager too
	err = bad.Send(ctx, []Alert{snap})
	if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), "status 400") {
		t.Errorf("posting an invalid alert: %v, want a permanent 400 error", err)
	}
	t.Logf("Alertmanager refused an invalid alert: %v", err)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestAlertmanagerRefreshKeepsFiring(t *testing.T) {
	base := startAlertmanager(t)
	ctx := context.Background()
	am, err := NewAlertmanager(AlertmanagerConfig{URL: base, Refresh: 500 * time.Millisecond, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Outputs = []Output{am}
	n, err := NewNotifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := finding("sess-R", "exfil.url-args", detector.Critical, 0, "1")
	f.TS = time.Now().Add(-time.Second)
	must(t, n.Add(ctx, f))
	first := activeAlerts(t, base)
	if len(first) != 1 {
		t.Fatalf("%d alerts, want 1", len(first))
	}
	// endsAt is four refresh intervals ahead: without refreshes the alert
	// would resolve in 2 s. Refresh past that and it still fires, once.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		must(t, n.Refresh(ctx))
	}
	got := activeAlerts(t, base)
	if len(got) != 1 || got[0].Fingerprint != first[0].Fingerprint {
		t.Fatalf("after refreshing past the first endsAt: %+v", got)
	}
	if !got[0].EndsAt.After(first[0].EndsAt.Add(time.Second)) {
		t.Errorf("endsAt %v not moved on from %v", got[0].EndsAt, first[0].EndsAt)
	}
	if s := n.Stats(); s.Sent < 5 {
		t.Errorf("only %d posts in 3 s of refreshes every 0.5 s", s.Sent)
	}
}

func TestNewAlertmanagerLabelNames(t *testing.T) {
	check := func(name string, ok bool) {
		t.Helper()
		_, err := NewAlertmanager(AlertmanagerConfig{URL: "http://127.0.0.1:9093", Labels: map[string]string{name: "x"}})
		if ok && err != nil {
			t.Errorf("label %q refused: %v", name, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), strconv.Quote(name))) {
			t.Errorf("label %q: error %v, want one naming the label", name, err)
		}
	}
	for _, name := range []string{"env", "_team", "Region2"} {
		check(name, true)
	}
	for _, name := range []string{"", "0env", "team-name", "région", "a.b"} {
		check(name, false)
	}
}
