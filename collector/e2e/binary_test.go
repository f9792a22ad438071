package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The collector runs on every MCP host: it must stay small.
const (
	maxBinaryBytes = 20_000_000
	maxIdleRSSKiB  = 20_000 * 1000 / 1024
)

// TestCollectorDeps: the collector links neither the ClickHouse client,
// nor the Grafana SDK, nor the NATS server.
func TestCollectorDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/mcptrail/mcptrail/cmd/mcptrail-collector").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, forbidden := range []string{"github.com/ClickHouse/", "github.com/grafana/", "github.com/nats-io/nats-server"} {
		for _, pkg := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(pkg, forbidden) {
				t.Errorf("mcptrail-collector links %s", pkg)
			}
		}
	}
	if !strings.Contains(string(out), "github.com/mcptrail/mcptrail/collector/wrap") {
		t.Fatal("go list -deps output does not look like the collector's")
	}
}

func TestCollectorBinarySize(t *testing.T) {
	st, err := os.Stat(collectorBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mcptrail-collector is %.1f MB", float64(st.Size())/1e6)
	if st.Size() > maxBinaryBytes {
		t.Errorf("mcptrail-collector is %d bytes, more than %d", st.Size(), maxBinaryBytes)
	}
}

// rssKiB reads a process's resident set size.
func rssKiB(t testing.TB, pid int) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestCollectorIdleRSS measures the resident memory of an idle collector in
// both modes, with the default bus sink (the bus is not running, so it
// spools).
func TestCollectorIdleRSS(t *testing.T) {
	bin := collectorBinary(t)
	dir := t.TempDir()
	common := []string{"--server-name", "idle", "--sink", fmt.Sprintf("nats://127.0.0.1:%d", freePort(t)), "--state-dir", dir, "--log-level", "error"}
	for _, mode := range []struct {
		name string
		args []string
	}{
		{"wrap", append(append([]string{"wrap"}, common...), "--", "cat")},
		{"proxy", append(append([]string{"proxy", "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--upstream", "http://127.0.0.1:9/mcp"}, common...), "--state-dir", filepath.Join(dir, "p"))},
	} {
		t.Run(mode.name, func(t *testing.T) {
			cmd := exec.Command(bin, mode.args...)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = io.Discard, &bytes.Buffer{}
			p := startProcess(t, filepath.Join(dir, mode.name+".log"), cmd)
			defer stdin.Close()
			time.Sleep(2 * time.Second)
			rss := rssKiB(t, p.cmd.Process.Pid)
			t.Logf("idle %s collector: RSS %d KiB", mode.name, rss)
			if rss > maxIdleRSSKiB {
				t.Errorf("idle RSS %d KiB, more than %d KiB", rss, maxIdleRSSKiB)
			}
		})
	}
}
