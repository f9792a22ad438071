package busurl

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
)

// roundTrip publishes one record on b and reads it back.
func roundTrip(t *testing.T, b bus.Bus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := b.Publisher(ctx, bus.PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	if err := p.Publish(ctx, bus.Message{Key: []byte("s1"), Value: []byte("hello")}, func(err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("publish: %v", err)
	}
	_ = p.Close(ctx)
	c, err := b.Consumer(ctx, bus.ConsumerConfig{Group: "busurl-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ds, err := c.Fetch(ctx, 10)
	if err != nil || len(ds) != 1 || string(ds[0].Value) != "hello" || string(ds[0].Key) != "s1" {
		t.Fatalf("fetch: %v, %d records", err, len(ds))
	}
	if err := c.Ack(ctx, ds...); err != nil {
		t.Fatal(err)
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
