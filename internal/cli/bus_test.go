package cli

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsbus"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var busURL = regexp.MustCompile(`url=nats://(127\.0\.0\.1:\d+)`)

func TestBusCommand(t *testing.T) {
	t.Setenv("MCPTRAIL_BUS_TOKEN", "from-env")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- Main(ctx, []string{"bus", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, strings.NewReader(""), &stdout, &stderr)
	}()

	var addr string
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" {
		if m := busURL.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case c := <-code:
			t.Fatalf("bus exited with %d before it was ready: %s", c, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no client URL logged: %s", stderr.String())
		}
	}

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"token from the environment", "from-env", true},
		{"wrong token", "nope", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			octx, ocancel := context.WithTimeout(ctx, 10*time.Second)
			defer ocancel()
			b, err := natsbus.Open(octx, bus.Config{Servers: []string{addr}, Topic: "cli-test", Partitions: 2, Auth: bus.Auth{Token: tt.token}})
			if !tt.ok {
				if err == nil {
					b.Close()
					t.Fatal("connected with a wrong token")
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer b.Close()
			roundTrip(t, octx, b)
		})
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("bus exited with %d: %s", c, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("bus did not stop after its context was cancelled")
	}
	if !strings.Contains(stderr.String(), "bus stopped") {
		t.Errorf("no stop logged: %s", stderr.String())
	}
}

// roundTrip publishes a record on b and consumes it back.
func roundTrip(t *testing.T, ctx context.Context, b bus.Bus) {
	t.Helper()
	p, err := b.Publisher(ctx, bus.PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	if err := p.Publish(ctx, bus.Message{Key: []byte("s"), Value: []byte("hello")}, func(err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("publish: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := b.Consumer(ctx, bus.ConsumerConfig{Group: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ds, err := c.Fetch(ctx, 10)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if len(ds) != 1 || string(ds[0].Value) != "hello" {
		t.Fatalf("got %d records, first %q", len(ds), ds[0].Value)
	}
	if err := c.Ack(ctx, ds...); err != nil {
		t.Fatal(err)
	}
}
