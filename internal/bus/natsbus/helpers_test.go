package natsbus

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
)

// testServer is an embedded server that a test can stop and start again
// on the same address and data directory.
type testServer struct {
	cfg natsserver.Config
	srv atomic.Pointer[natsserver.Server]
}

// startServer starts an embedded server for t and shuts it down when t
// ends.
func startServer(t testing.TB, cfg natsserver.Config) *testServer {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	ts := &testServer{cfg: cfg}
	ts.start(t)
	_, port, err := net.SplitHostPort(ts.srv.Load().Addr())
	if err != nil {
		t.Fatal(err)
	}
	ts.cfg.Port, _ = strconv.Atoi(port)
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for range 50 { // the port may linger briefly after a stop
		var e *natsserver.Server
		e, err = natsserver.Start(ctx, ts.cfg)
		if err == nil {
			ts.srv.Store(e)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("start embedded server: %v", err)
}

func (ts *testServer) stop() {
	if e := ts.srv.Swap(nil); e != nil {
		e.Shutdown()
	}
}

func (ts *testServer) addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(ts.cfg.Port))
}

// open connects a bus to ts with cfg and closes it when t ends.
func (ts *testServer) open(t testing.TB, cfg bus.Config) bus.Bus {
	t.Helper()
	cfg.Servers = []string{ts.addr()}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Auth == (bus.Auth{}) {
		cfg.Auth = bus.Auth{Token: ts.cfg.Token, User: ts.cfg.User, Password: ts.cfg.Password}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

var topicSeq atomic.Int64

// testTopic is a topic name unique within the test binary.
func testTopic(name string) string {
	return fmt.Sprintf("t-%s-%d", name, topicSeq.Add(1))
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// publishSync publishes msgs and waits for all their acknowledgements.
func publishSync(t testing.TB, b bus.Bus, msgs ...bus.Message) {
	t.Helper()
	ctx := testCtx(t, 30*time.Second)
	p, err := b.Publisher(ctx, bus.PublisherConfig{})
	if err != nil {
		t.Fatalf("publisher: %v", err)
	}
	var failed atomic.Int64
	for _, m := range msgs {
		if err := p.Publish(ctx, m, func(err error) {
			if err != nil {
				failed.Add(1)
			}
		}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatalf("close publisher: %v", err)
	}
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d publishes failed", n)
	}
}

// fetchN fetches until n records arrived or d passed.
func fetchN(t testing.TB, c bus.Consumer, n int, d time.Duration) []*bus.Delivery {
	t.Helper()
	ctx := testCtx(t, d)
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

// fetchNone checks that nothing arrives within d.
func fetchNone(t testing.TB, c bus.Consumer, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if ds, err := c.Fetch(ctx, 100); err == nil {
		t.Fatalf("got %d records, want none (first: partition %d position %d)", len(ds), ds[0].Partition, ds[0].Position)
	}
}

func msg(key, value string) bus.Message {
	return bus.Message{Key: []byte(key), Value: []byte(value)}
}
