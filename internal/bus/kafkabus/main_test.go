package kafkabus_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/kafkabus"
	"github.com/mcptrail/mcptrail/internal/bus/kafkabus/kafkatest"
)

// TestMain stops the broker the tests share (kafkatest.Shared) after them.
func TestMain(m *testing.M) {
	os.Exit(kafkatest.Main(m))
}

var topicSeq atomic.Int64

// config returns a bus.Config for the shared test broker with a new topic.
func config(t *testing.T, partitions int) bus.Config {
	t.Helper()
	return bus.Config{
		Servers:    []string{kafkatest.Start(t)},
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
