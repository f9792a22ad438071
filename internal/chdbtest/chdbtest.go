// Package chdbtest runs the chDB HTTP bridge (deployments/chdb/bridge.py) for
// tests, so that real clickhouse-go v2 code runs against the real ClickHouse
// engine (chDB, in process in Python) over ClickHouse's HTTP interface.
//
// It is a test helper only: import it from _test.go files. Production uses a
// real ClickHouse server. Outside CI (env CI unset) tests are skipped when
// python3 or the chdb module is missing; in CI that is a failure.
package chdbtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/mcptrail/mcptrail/internal/syncbuf"
)

const (
	startTimeout = 60 * time.Second
	stopTimeout  = 20 * time.Second
	addrPrefix   = "CHDB_ADDR="
)

// Bridge is a running bridge.py process bound to a loopback port with a
// persistent chDB data directory.
type Bridge struct {
	tb      testing.TB
	script  string
	python  string
	dataDir string
	logFile string

	mu   sync.Mutex
	addr string // host:port, fixed after the first start
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been waited for
}

var (
	envOnce sync.Once
	envErr  error
	python  string
	root    string
)

// checkEnv locates the repository root, python3 and the chdb module, once.
func checkEnv() error {
	envOnce.Do(func() {
		root, envErr = repoRoot()
		if envErr != nil {
			return
		}
		python, envErr = exec.LookPath("python3")
		if envErr != nil {
			envErr = fmt.Errorf("python3 not found in PATH: %w", envErr)
			return
		}
		out, err := exec.Command(python, "-c", "import chdb; print(chdb.__version__)").CombinedOutput()
		if err != nil {
			envErr = fmt.Errorf("python module chdb not importable (%v): %s; run deployments/chdb/install.sh",
				err, strings.TrimSpace(lastLines(out, 1)))
		}
	})
	return envErr
}

// repoRoot walks up from this source file (or the working directory) to the
// directory holding go.mod.
func repoRoot() (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				if _, err := os.Stat(filepath.Join(d, "deployments", "chdb", "bridge.py")); err == nil {
					return d, nil
				}
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", errors.New("cannot locate the repository root (go.mod with deployments/chdb/bridge.py)")
}

func inCI() bool { return os.Getenv("CI") != "" }

// Start launches the bridge on a free loopback port with a fresh data
// directory (t.TempDir()) and stops it in t.Cleanup. It skips the test when
// python3/chdb are unavailable, unless CI is set, in which case it fails.
func Start(tb testing.TB) *Bridge {
	tb.Helper()
	if err := checkEnv(); err != nil {
		if inCI() {
			tb.Fatalf("chdbtest: %v", err)
		}
		tb.Skipf("chdbtest: skipping, ClickHouse (chDB bridge) unavailable: %v (set CI=1 to make this a failure)", err)
	}
	logDir := tb.TempDir()
	b := &Bridge{
		tb:      tb,
		script:  filepath.Join(root, "deployments", "chdb", "bridge.py"),
		python:  python,
		dataDir: filepath.Join(tb.TempDir(), "chdb"),
		logFile: filepath.Join(logDir, "bridge.log"),
	}
	tb.Cleanup(func() {
		b.Stop()
		if tb.Failed() {
			if data, err := os.ReadFile(b.logFile); err == nil && len(data) > 0 {
				tb.Logf("chdb bridge log (tail):\n%s", lastLines(data, 40))
			}
		}
	})
	if err := b.start(0); err != nil {
		tb.Fatalf("chdbtest: %v", err)
	}
	return b
}

// Addr returns the bridge's "127.0.0.1:PORT" (stable across Restart).
func (b *Bridge) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

// DataDir returns the chDB session directory.
func (b *Bridge) DataDir() string { return b.dataDir }

// LogFile returns the path of the bridge's log file.
func (b *Bridge) LogFile() string { return b.logFile }

func (b *Bridge) start(port int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		return errors.New("bridge already running")
	}
	cmd := exec.Command(b.python, b.script,
		"--port", strconv.Itoa(port),
		"--data-dir", b.dataDir,
		"--log", b.logFile)
	cmd.Dir = root
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start bridge: %w", err)
	}
	done := make(chan struct{})
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if line := sc.Text(); !sent && strings.HasPrefix(line, addrPrefix) {
				addrCh <- strings.TrimSpace(strings.TrimPrefix(line, addrPrefix))
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(done)
	}()

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case addr := <-addrCh:
		if _, _, err := net.SplitHostPort(addr); err != nil {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("bridge printed a bad address %q", addr)
		}
		b.addr, b.cmd, b.done = addr, cmd, done
		return nil
	case <-done:
		return fmt.Errorf("bridge exited before becoming ready (%v): %s", cmd.ProcessState, lastLines(stderr.Bytes(), 20))
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("bridge not ready after %v: %s", startTimeout, lastLines(stderr.Bytes(), 20))
	}
}

// Stop terminates the bridge (SIGTERM, then SIGKILL after a timeout) and
// waits for it to exit. It is safe to call more than once.
func (b *Bridge) Stop() {
	b.mu.Lock()
	cmd, done := b.cmd, b.done
	b.cmd, b.done = nil, nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart stops the bridge and starts it again on the same port and data
// directory, simulating ClickHouse going down and coming back.
func (b *Bridge) Restart() {
	b.tb.Helper()
	b.Stop()
	_, portStr, err := net.SplitHostPort(b.Addr())
	if err != nil {
		b.tb.Fatalf("chdbtest: restart: %v", err)
	}
	port, _ := strconv.Atoi(portStr)
	var lastErr error
	for range 50 { // the port may linger briefly
		if lastErr = b.start(port); lastErr == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.tb.Fatalf("chdbtest: restart on port %d: %v", port, lastErr)
}

// Options returns clickhouse-go options for the bridge: HTTP protocol, no
// compression (the bridge does not implement ClickHouse's LZ4/ZSTD block
// compression; gzip and deflate request bodies are accepted).
func (b *Bridge) Options() *clickhouse.Options {
	return &clickhouse.Options{
		Protocol:    clickhouse.HTTP,
		Addr:        []string{b.Addr()},
		Compression: &clickhouse.Compression{Method: clickhouse.CompressionNone},
		DialTimeout: 10 * time.Second,
		ReadTimeout: 60 * time.Second,
	}
}

// Open returns a clickhouse-go connection to the bridge, closed in
// tb.Cleanup. Optional mutators adjust the options before opening.
func (b *Bridge) Open(tb testing.TB, mutate ...func(*clickhouse.Options)) clickhouse.Conn {
	tb.Helper()
	opts := b.Options()
	for _, m := range mutate {
		m(opts)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		tb.Fatalf("chdbtest: clickhouse.Open: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Ping(ctx); err != nil {
		tb.Fatalf("chdbtest: ping %s: %v", b.Addr(), err)
	}
	return conn
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
