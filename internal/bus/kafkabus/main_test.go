package kafkabus_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/kafkabus"
)

// broker is the Kafka broker the tests share, run by deployments/kafka/kafka.sh.
type broker struct {
	script string
	dir    string
	port   int
	addr   string
	// args are extra kafka.sh start arguments; saslAddr is the SASL_SSL
	// listener it reported (KAFKA_SASL_ADDR), if any.
	args     []string
	saslAddr string
}

var testBroker *broker // set by TestMain for the package's tests

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if _, err := exec.LookPath("java"); err != nil {
		fmt.Fprintln(os.Stderr, "kafkabus tests need a real Kafka broker: java (17+) not found on PATH")
		return 1
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "deployments", "kafka", "kafka.sh")
	dir, err := os.MkdirTemp("", "kafkabus-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	port, err := freePortPair()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b := &broker{script: script, dir: dir, port: port}
	if err := b.start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := b.stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	testBroker = b
	return m.Run()
}

// freePortPair finds a port p such that p and p+1 (the controller) are free.
func freePortPair() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		_ = l.Close()
		if err == nil {
			_ = l2.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port pair on 127.0.0.1")
}

func (b *broker) start() error {
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

func (b *broker) stop() error {
	out, err := exec.Command(b.script, "stop", "--dir", b.dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("kafka.sh stop: %w\n%s", err, out)
	}
	return nil
}

// Stop stops the broker, keeping its data.
func (b *broker) Stop(t *testing.T) {
	t.Helper()
	if err := b.stop(); err != nil {
		t.Fatal(err)
	}
}

// Start starts the broker again on the same address.
func (b *broker) Start(t *testing.T) {
	t.Helper()
	if err := b.start(); err != nil {
		t.Fatal(err)
	}
}

var topicSeq atomic.Int64

// config returns a bus.Config for the test broker with a new topic.
func config(t *testing.T, partitions int) bus.Config {
	t.Helper()
	return bus.Config{
		Servers:    []string{testBroker.addr},
		Topic:      fmt.Sprintf("t%d-%s", topicSeq.Add(1), strings.ReplaceAll(t.Name(), "/", "_")),
		Partitions: partitions,
	}
}

// open connects a Bus and closes it at the end of the test.
func open(t testing.TB, cfg bus.Config) bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := kafkabus.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func publisher(t testing.TB, b bus.Bus, cfg bus.PublisherConfig) bus.Publisher {
	t.Helper()
	p, err := b.Publisher(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

func consumer(t testing.TB, b bus.Bus, cfg bus.ConsumerConfig) bus.Consumer {
	t.Helper()
	c, err := b.Consumer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// publishAll publishes msgs, flushes, and fails the test on any error.
func publishAll(t testing.TB, p bus.Publisher, msgs []bus.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var firstErr error
	for _, m := range msgs {
		err := p.Publish(ctx, m, func(err error) {
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		t.Fatalf("done: %v", firstErr)
	}
}

// fetchN fetches until n records arrived or timeout passed.
func fetchN(t testing.TB, c bus.Consumer, n int, timeout time.Duration) []*bus.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*bus.Delivery
	for len(out) < n {
		ds, err := c.Fetch(ctx, n-len(out))
		if err != nil {
			t.Fatalf("fetch after %d of %d records: %v", len(out), n, err)
		}
		out = append(out, ds...)
	}
	return out
}
