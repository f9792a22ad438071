// Package kafkatest runs a real single-node Apache Kafka broker (KRaft) on
// 127.0.0.1 for tests, with deployments/kafka/kafka.sh.
//
// A test binary shares one broker: Start returns its address, starting it
// on first use (a few seconds; kafka.sh waits up to 60 s), and Main, which
// the package's TestMain calls, stops it after the last test. So a package
// pays for one broker, and only when one of its tests needs it. A test
// that needs a broker of its own (with a SASL_SSL listener, say) starts
// one with New.
//
// It is a test helper only: import it from _test.go files. Outside CI (env
// CI unset) tests are skipped when Java or the broker's jars are missing;
// in CI that is a failure.
package kafkatest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Broker is a Kafka broker started by kafka.sh, with its data in its own
// directory.
type Broker struct {
	script string
	dir    string
	port   int
	args   []string // extra kafka.sh start arguments

	addr     string // KAFKA_ADDR kafka.sh reported
	saslAddr string // KAFKA_SASL_ADDR, when there is a SASL_SSL listener
}

// Options are the settings of a broker started with New.
type Options struct {
	// SASL, when set, adds a SASL_SSL listener on a free port.
	SASL *SASL
}

// SASL is a SASL_SSL listener: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
// over TLS.
type SASL struct {
	// CertFile and KeyFile are the listener's PEM certificate (chain) and
	// unencrypted private key.
	CertFile, KeyFile string
	// PlainUsers and ScramUsers are "user:password" pairs; a SCRAM user
	// can log in with SHA-256 and SHA-512.
	PlainUsers, ScramUsers []string
}

// shared is the test binary's broker. It is package state because its
// whole point is to outlive single tests; Main owns its lifetime.
var shared struct {
	mu     sync.Mutex
	inMain bool
	broker *Broker
	err    error // the failed start, reported to every later test
}

// Main runs the tests of m and then stops the shared broker, when a test
// started it, and removes its data. Call it from the package's TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(kafkatest.Main(m)) }
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	b := shared.broker
	shared.broker, shared.inMain = nil, false
	shared.mu.Unlock()
	if b != nil {
		if err := b.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "kafkatest:", err)
		}
		_ = os.RemoveAll(b.dir)
	}
	return code
}

// Start returns the address (127.0.0.1:PORT) of the shared broker,
// starting it on first use. See Shared.
func Start(tb testing.TB) (addr string) {
	tb.Helper()
	return Shared(tb).Addr()
}

// Shared returns the test binary's shared broker, starting it on first
// use; tests may stop and restart it (and must leave it running). It skips
// tb when Java or the broker's jars are missing, unless CI is set, in
// which case it fails tb, and fails tb when the package's TestMain does
// not run Main (nothing would stop the broker).
func Shared(tb testing.TB) *Broker {
	tb.Helper()
	requireEnv(tb)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		tb.Fatal("kafkatest: the shared broker needs the package's TestMain to run kafkatest.Main, which stops it")
	}
	if shared.broker == nil && shared.err == nil {
		t0 := time.Now()
		shared.broker, shared.err = launch(Options{})
		if shared.err == nil {
			tb.Logf("kafkatest: shared Kafka broker ready on %s in %v", shared.broker.addr, time.Since(t0).Round(time.Millisecond))
		}
	}
	if shared.err != nil {
		tb.Fatalf("kafkatest: shared broker: %v", shared.err)
	}
	return shared.broker
}

// New starts a broker of tb's own with opts, and stops it and removes its
// data when tb ends. It skips or fails tb as Shared does.
func New(tb testing.TB, opts Options) *Broker {
	tb.Helper()
	requireEnv(tb)
	b, err := launch(opts)
	if err != nil {
		tb.Fatalf("kafkatest: %v", err)
	}
	tb.Cleanup(func() {
		if err := b.stop(); err != nil {
			tb.Error(err)
		}
		_ = os.RemoveAll(b.dir)
	})
	return b
}

// Addr is the broker's plaintext listener, 127.0.0.1:PORT.
func (b *Broker) Addr() string { return b.addr }

// SASLAddr is the broker's SASL_SSL listener, or "" without one.
func (b *Broker) SASLAddr() string { return b.saslAddr }

// Stop stops the broker, keeping its data.
func (b *Broker) Stop(t *testing.T) {
	t.Helper()
	if err := b.stop(); err != nil {
		t.Fatal(err)
	}
}

// Start starts the stopped broker again on the same addresses.
func (b *Broker) Start(t *testing.T) {
	t.Helper()
	if err := b.start(); err != nil {
		t.Fatal(err)
	}
}

var (
	envOnce   sync.Once
	envScript string
	envErr    error
)

// requireEnv skips or fails tb unless Java and the broker's jars are
// there (kafka.sh fetch downloads them once from Maven Central).
func requireEnv(tb testing.TB) {
	tb.Helper()
	envOnce.Do(func() { envScript, envErr = checkEnv() })
	if envErr == nil {
		return
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("kafkatest: %v", envErr)
	}
	tb.Skipf("kafkatest: skipping, no Kafka broker: %v (set CI=1 to make this a failure)", envErr)
}

// checkEnv finds kafka.sh and makes sure it can start a broker.
func checkEnv() (script string, err error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate deployments/kafka/kafka.sh: no caller information")
	}
	script = filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "deployments", "kafka", "kafka.sh")
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("kafka.sh: %w", err)
	}
	if _, err := exec.LookPath("java"); err != nil {
		return "", fmt.Errorf("java (17+) not found on PATH: %w", err)
	}
	if out, err := exec.Command(script, "fetch").CombinedOutput(); err != nil {
		return "", fmt.Errorf("kafka.sh fetch: %w\n%s", err, lastLines(out, 10))
	}
	return script, nil
}

// launch starts a broker with opts on free ports in a new directory.
func launch(opts Options) (*Broker, error) {
	dir, err := os.MkdirTemp("", "kafkatest-")
	if err != nil {
		return nil, fmt.Errorf("broker directory: %w", err)
	}
	port, err := freePortPair()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	b := &Broker{script: envScript, dir: dir, port: port}
	wantSASL := ""
	if s := opts.SASL; s != nil {
		sport, err := freePort(port, port+1)
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		wantSASL = fmt.Sprintf("127.0.0.1:%d", sport)
		b.args = []string{"--sasl-port", fmt.Sprint(sport), "--tls-cert", s.CertFile, "--tls-key", s.KeyFile}
		for _, u := range s.PlainUsers {
			b.args = append(b.args, "--plain-user", u)
		}
		for _, u := range s.ScramUsers {
			b.args = append(b.args, "--scram-user", u)
		}
	}
	if err := b.start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if b.saslAddr != wantSASL {
		_ = b.stop()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("kafka.sh start reported KAFKA_SASL_ADDR=%q, want %q", b.saslAddr, wantSASL)
	}
	return b, nil
}

func (b *Broker) start() error {
	args := append([]string{"start", "--dir", b.dir, "--port", fmt.Sprint(b.port)}, b.args...)
	cmd := exec.Command(b.script, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("kafka.sh start: %w\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "KAFKA_ADDR="); ok {
			b.addr = a
		}
		if a, ok := strings.CutPrefix(sc.Text(), "KAFKA_SASL_ADDR="); ok {
			b.saslAddr = a
		}
	}
	if b.addr == "" {
		return fmt.Errorf("kafka.sh start printed no KAFKA_ADDR:\n%s\n%s", out, stderr.String())
	}
	return nil
}

func (b *Broker) stop() error {
	out, err := exec.Command(b.script, "stop", "--dir", b.dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("kafka.sh stop: %w\n%s", err, out)
	}
	return nil
}

// freePortPair finds a port p such that p and p+1 (the controller) are
// free on 127.0.0.1.
func freePortPair() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("free port: %w", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		_ = l.Close()
		if err == nil {
			_ = l2.Close()
			return p, nil
		}
	}
	return 0, errors.New("no free port pair on 127.0.0.1")
}

// freePort finds a free port on 127.0.0.1 other than the given ones.
func freePort(not ...int) (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("free port: %w", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		clash := false
		for _, n := range not {
			clash = clash || p == n
		}
		if !clash {
			return p, nil
		}
	}
	return 0, errors.New("no free port on 127.0.0.1")
}

// lastLines is the last n lines of out.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
