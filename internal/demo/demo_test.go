package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/syncbuf"
)

// inCI: the prerequisites are installed in CI, so their absence fails the
// test there instead of skipping it.
func inCI() bool { return os.Getenv("CI") != "" }

// prerequisite skips the test outside CI, and fails it in CI, when
// something the demo needs is missing.
func prerequisite(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if inCI() {
		t.Fatal(err)
	}
	t.Skipf("%v (set CI=1 to make this a failure)", err)
}

// repoRoot is the module root, found from this file.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binaries builds mcptrail and mcptrail-collector once per test run.
func binaries(t *testing.T) (mcptrail, collector string) {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "mcptrail-demo-bin-"); buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "./cmd/mcptrail", "./cmd/mcptrail-collector")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "mcptrail"), filepath.Join(binDir, "mcptrail-collector")
}

// mcpServersDir is where deployments/mcp-servers/install.sh put the
// servers.
func mcpServersDir() string {
	if d := os.Getenv("MCPTRAIL_MCP_SERVERS"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "mcptrail", "mcp-servers")
}

// TestDemo runs the whole demo on the real components: the built
// binaries, the npm MCP servers, the chDB bridge. Every record the
// collectors captured is stored, nothing is dead-lettered or breaks a hash
// chain, each of the three attacks draws a high or critical finding and
// the ordinary work none.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole pipeline")
	}
	cfg := realConfig(t)
	cfg.SummaryJSON = filepath.Join(t.TempDir(), "out", "summary.json")
	cfg.Grafana = "http://127.0.0.1:3000"

	out := &syncbuf.Buffer{}
	cfg.Stdout = out
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	sum, err := Run(ctx, cfg)
	t.Logf("demo ran in %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("demo: %v\noutput:\n%s", err, out)
	}
	if !sum.OK {
		t.Errorf("demo problems: %q\noutput:\n%s", sum.Problems, out)
	}

	// The same assertions as .ci/check-demo-summary.py, on the JSON file.
	b, err := os.ReadFile(cfg.SummaryJSON)
	if err != nil {
		t.Fatal(err)
	}
	var got Summary
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.RecordsCaptured == 0 || got.EventsStored != got.RecordsCaptured {
		t.Errorf("%d records captured, %d events stored", got.RecordsCaptured, got.EventsStored)
	}
	if got.DeadLetters != 0 || got.ChainProblems != 0 || got.Verify.Problems != 0 || got.RecordsLeftInSpools != 0 {
		t.Errorf("dead letters %d, chain problems %d, verify problems %d, left in spools %d", got.DeadLetters, got.ChainProblems, got.Verify.Problems, got.RecordsLeftInSpools)
	}
	if got.RawSecretsStored != 0 {
		t.Errorf("%d stored rows hold a planted secret", got.RawSecretsStored)
	}
	attacks := map[string]int{}
	for _, sc := range got.Scenarios {
		if len(sc.Sessions) == 0 {
			t.Errorf("scenario %s has no stored session", sc.Name)
		}
		if sc.Attack != "" {
			attacks[sc.Attack] += sc.HighOrCritical
		} else if sc.HighOrCritical > 0 {
			t.Errorf("ordinary scenario %s drew %d high or critical findings: %+v", sc.Name, sc.HighOrCritical, sc.Findings)
		}
	}
	for _, a := range []string{attackExfiltration, attackRugPull, attackTokenReplay} {
		if attacks[a] == 0 {
			t.Errorf("attack %s drew no high or critical finding", a)
		}
	}
	for _, f := range got.Unattributed {
		if highOrCritical(f.Severity) {
			t.Errorf("%s finding %s on a session of no scenario", f.Severity, f.Rule)
		}
	}

	leftNothing(t, cfg.DataDir)
	text := out.String()
	for _, want := range []string{"[detect] FINDING", "[agent] scenario 9/9", "[verify] verified", "== mcptrail demo: summary", "demo OK"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// leftNothing checks that a run left no process behind (every child's
// command line names the run's data dir) and removed its data dir.
func leftNothing(t *testing.T, dataDir string) {
	t.Helper()
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("data dir %s still there (%v)", dataDir, err)
	}
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(dataDir)) {
			t.Errorf("process %s still runs: %s", filepath.Base(filepath.Dir(p)), bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
}

// realConfig returns the demo's configuration on the real components (the
// built binaries, the npm MCP servers, the chDB bridge) with a data dir of
// the test's, located; a missing prerequisite skips the test (or fails it
// in CI, see prerequisite).
func realConfig(t *testing.T) Config {
	t.Helper()
	mcptrail, collector := binaries(t)
	cfg := Config{
		Mcptrail: mcptrail, Collector: collector, MCPServers: mcpServersDir(),
		ChdbBridge: filepath.Join(repoRoot(t), "deployments", "chdb", "bridge.py"),
		DataDir:    filepath.Join(t.TempDir(), "data"),
	}
	_, err := locate(context.Background(), &cfg)
	prerequisite(t, err)
	return cfg
}

// TestDemoInterrupted: cancelling the run (Ctrl-C) stops every child and
// removes the data dir.
func TestDemoInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	cfg := realConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncbuf.Buffer{}
	cfg.Stdout = watchFor(out, "[agent] scenario 2/", cancel)
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, cfg)
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the demo did not stop after it was interrupted:\n%s", out)
	}
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("Run returned %v, want an interruption\n%s", err, out)
	}
	if !strings.Contains(out.String(), "interrupted: stopping every child") {
		t.Errorf("no notice of the interruption:\n%s", out)
	}
	leftNothing(t, cfg.DataDir)
}

// watchFor returns a writer to w that calls fn once what was written
// contains s.
func watchFor(w *syncbuf.Buffer, s string, fn func()) *watcher {
	return &watcher{w: w, s: s, fn: fn}
}

type watcher struct {
	w    *syncbuf.Buffer
	s    string
	fn   func()
	once sync.Once
}

func (x *watcher) Write(p []byte) (int, error) {
	n, err := x.w.Write(p)
	if strings.Contains(x.w.String(), x.s) {
		x.once.Do(x.fn)
	}
	return n, err
}

// TestLocateNamesWhatIsMissing: a missing prerequisite is named with the
// way to install it.
func TestLocateNamesWhatIsMissing(t *testing.T) {
	empty := t.TempDir()
	cfg := Config{
		Mcptrail: filepath.Join(empty, "mcptrail"), Collector: filepath.Join(empty, "mcptrail-collector"),
		MCPServers: empty, ChdbBridge: filepath.Join(empty, "bridge.py"),
	}
	_, err := locate(context.Background(), &cfg)
	if err == nil {
		t.Fatal("locate found everything in an empty directory")
	}
	for _, want := range []string{"mcptrail-collector not found", "go build -o bin/ ./cmd/...", "mcp-server-everything is not installed", mcpServersInstall, "chDB bridge script", "--clickhouse"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	// With a ClickHouse server, the bridge is not needed.
	cfg.ClickHouse = "http://127.0.0.1:8123/"
	_, err = locate(context.Background(), &cfg)
	if err == nil || strings.Contains(err.Error(), "chDB") {
		t.Errorf("with --clickhouse, the error still names chDB: %v", err)
	}
}
