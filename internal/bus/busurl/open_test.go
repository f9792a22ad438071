package busurl

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
)

// roundTrip publishes a few records on b, reads them back in a consumer
// group and acknowledges them.
func roundTrip(t *testing.T, b bus.Bus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := b.Publisher(ctx, bus.PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	want := map[string]string{} // value → key
	done := make(chan error, n)
	for i := range n {
		key, value := fmt.Sprintf("s%d", i), fmt.Sprintf("hello %d", i)
		want[value] = key
		if err := p.Publish(ctx, bus.Message{Key: []byte(key), Value: []byte(value)}, func(err error) { done <- err }); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		if err := <-done; err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := b.Consumer(ctx, bus.ConsumerConfig{Group: "busurl-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for len(want) > 0 {
		ds, err := c.Fetch(ctx, n)
		if err != nil {
			t.Fatalf("fetch with %d records missing: %v", len(want), err)
		}
		for _, d := range ds {
			if key, ok := want[string(d.Value)]; !ok || key != string(d.Key) {
				t.Fatalf("got record %q with key %q, not one published (or a second time)", d.Value, d.Key)
			}
			delete(want, string(d.Value))
		}
		if err := c.Ack(ctx, ds...); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenEmbedded(t *testing.T) {
	dir := t.TempDir()
	raw := "embedded://" + filepath.Join(dir, "bus") + "?listen=127.0.0.1:0&partitions=2"
	b, err := Open(context.Background(), raw, bus.Config{}, natsserver.Starter(nil))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, b)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// The store is where the URL says, and the server stopped with the bus:
	// a second embedded bus on the same dir starts and sees the stream.
	if matches, _ := filepath.Glob(filepath.Join(dir, "bus", "*")); len(matches) == 0 {
		t.Errorf("no file store under %s", dir)
	}
	b2, err := Open(context.Background(), raw, bus.Config{}, natsserver.Starter(nil))
	if err != nil {
		t.Fatalf("reopen on the same data dir: %v", err)
	}
	_ = b2.Close()
}

func TestOpenNATS(t *testing.T) {
	srv, err := natsserver.Start(context.Background(), natsserver.Config{DataDir: t.TempDir(), Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	b, err := Open(context.Background(), "nats://tok@"+srv.Addr()+"/urltest", bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	roundTrip(t, b)
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tests := []struct {
		raw, want string
		starter   EmbeddedStarter
	}{
		{"embedded", "not available in this binary", nil},
		{"kafka://127.0.0.1:1/t", "kafkabus", nil},
		{"nats://127.0.0.1:1", "natsbus: connect to 127.0.0.1:1", nil},
		{"bogus://x", "unknown scheme", nil},
	}
	for _, tt := range tests {
		b, err := Open(ctx, tt.raw, bus.Config{}, tt.starter)
		if err == nil {
			_ = b.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q): %v, want an error containing %q", tt.raw, err, tt.want)
		}
	}
}
