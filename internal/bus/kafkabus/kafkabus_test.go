package kafkabus_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/kafkabus/kafkatest"
)

// messages makes n messages over keys sessions; the value is "key:seq".
func messages(n, keys int) []bus.Message {
	out := make([]bus.Message, n)
	for i := range out {
		k := fmt.Sprintf("session-%d", i%keys)
		out[i] = bus.Message{Key: []byte(k), Value: fmt.Appendf(nil, "%s:%d", k, i/keys)}
	}
	return out
}

func ackAll(t testing.TB, c bus.Consumer, ds []*bus.Delivery) {
	t.Helper()
	if err := c.Ack(context.Background(), ds...); err != nil {
		t.Fatalf("ack: %v", err)
	}
}

func TestPublishConsumeOrder(t *testing.T) {
	cfg := config(t, 4)
	b := open(t, cfg)
	p := publisher(t, b, bus.PublisherConfig{})
	const n, keys = 5000, 37
	msgs := messages(n, keys)
	msgs[0].Headers = map[string]string{"h1": "v1", "h2": "v2"}
	publishAll(t, p, msgs)

	c := consumer(t, b, bus.ConsumerConfig{Group: "g"})
	ds := fetchN(t, c, n, 60*time.Second)
	next := map[string]int{}
	for _, d := range ds {
		k := string(d.Key)
		if want := bus.Partition(d.Key, cfg.Partitions); d.Partition != want {
			t.Fatalf("key %s on partition %d, want %d", k, d.Partition, want)
		}
		if want := fmt.Sprintf("%s:%d", k, next[k]); string(d.Value) != want {
			t.Fatalf("got %q, want %q (order broken)", d.Value, want)
		}
		if next[k] == 0 && k == "session-0" && (d.Headers["h1"] != "v1" || d.Headers["h2"] != "v2") {
			t.Fatalf("headers = %v", d.Headers)
		}
		next[k]++
	}
	ackAll(t, c, ds)
}

func TestAckCommitsContiguousOnly(t *testing.T) {
	cfg := config(t, 1)
	b := open(t, cfg)
	publishAll(t, publisher(t, b, bus.PublisherConfig{}), messages(5, 1))

	c1 := consumer(t, b, bus.ConsumerConfig{Group: "g"})
	ds := fetchN(t, c1, 5, 30*time.Second)
	// Ack positions 0, 1 and 3: the commit must stop after 1.
	ackAll(t, c1, []*bus.Delivery{ds[0], ds[1], ds[3]})
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}

	c2 := consumer(t, b, bus.ConsumerConfig{Group: "g"})
	again := fetchN(t, c2, 3, 30*time.Second)
	for i, d := range again {
		if want := uint64(2 + i); d.Position != want {
			t.Fatalf("redelivered position %d, want %d", d.Position, want)
		}
	}
	ackAll(t, c2, again)
}

func TestRedeliveryAfterMemberCloses(t *testing.T) {
	cfg := config(t, 2)
	b := open(t, cfg)
	const n = 200
	publishAll(t, publisher(t, b, bus.PublisherConfig{}), messages(n, 10))

	c1 := consumer(t, b, bus.ConsumerConfig{Group: "g"})
	first := fetchN(t, c1, n, 30*time.Second)
	ackAll(t, c1, first[:n/2]) // half, then "crash"
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	for _, d := range first[:n/2] {
		acked[fmt.Sprint(d.Partition, "/", d.Position)] = true
	}
	c2 := consumer(t, b, bus.ConsumerConfig{Group: "g"})
	seen := map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(seen)+len(acked) < n {
		ds, err := c2.Fetch(ctx, n)
		if err != nil {
			t.Fatalf("fetch: %v (have %d + %d acked of %d)", err, len(seen), len(acked), n)
		}
		for _, d := range ds {
			id := fmt.Sprint(d.Partition, "/", d.Position)
			if !acked[id] {
				seen[id] = true
			}
		}
		ackAll(t, c2, ds)
	}
}

func TestTwoMembersSplitPartitions(t *testing.T) {
	cfg := config(t, 4)
	b := open(t, cfg)
	p := publisher(t, b, bus.PublisherConfig{})
	c1 := consumer(t, b, bus.ConsumerConfig{Group: "g"})
	c2 := consumer(t, b, bus.ConsumerConfig{Group: "g"})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	parts := [2]map[int]bool{{}, {}}
	got := map[string]bool{}
	var wg sync.WaitGroup
	for i, c := range []bus.Consumer{c1, c2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				ds, err := c.Fetch(ctx, 100)
				if err != nil {
					return
				}
				mu.Lock()
				for _, d := range ds {
					parts[i][d.Partition] = true
					got[string(d.Value)] = true
				}
				mu.Unlock()
				_ = c.Ack(ctx, ds...)
			}
		}()
	}
	// Publish in rounds until both members got records and all arrived.
	total := 0
	for round := 0; ; round++ {
		msgs := messages(200, 50)
		for i := range msgs {
			msgs[i].Value = fmt.Appendf(nil, "r%d-%d", round, i)
		}
		publishAll(t, p, msgs)
		total += len(msgs)
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		done := len(parts[0]) > 0 && len(parts[1]) > 0 && len(got) == total
		mu.Unlock()
		if done {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("members got partitions %v and %v, %d of %d records", parts[0], parts[1], len(got), total)
		}
	}
	cancel()
	wg.Wait()
}

func TestDeadLetter(t *testing.T) {
	cfg := config(t, 2)
	b := open(t, cfg)
	msgs := messages(3, 3)
	msgs[1].Headers = map[string]string{"trace": "abc"}
	publishAll(t, publisher(t, b, bus.PublisherConfig{}), msgs)

	c := consumer(t, b, bus.ConsumerConfig{Group: "g"})
	ds := fetchN(t, c, 3, 30*time.Second)
	var poison *bus.Delivery
	for _, d := range ds {
		if string(d.Key) == "session-1" {
			poison = d
			continue
		}
		ackAll(t, c, []*bus.Delivery{d})
	}
	if err := c.DeadLetter(context.Background(), poison, "cannot decode"); err != nil {
		t.Fatal(err)
	}
	dlq := consumer(t, b, bus.ConsumerConfig{Group: "g", DeadLetters: true})
	got := fetchN(t, dlq, 1, 30*time.Second)[0]
	for _, c := range []struct{ name, got, want string }{
		{"key", string(got.Key), "session-1"},
		{"value", string(got.Value), string(poison.Value)},
		{"reason", got.Headers[bus.HeaderDeadLetterReason], "cannot decode"},
		{"partition", got.Headers[bus.HeaderDeadLetterPartition], strconv.Itoa(poison.Partition)},
		{"position", got.Headers[bus.HeaderDeadLetterPosition], strconv.FormatUint(poison.Position, 10)},
		{"original header", got.Headers["trace"], "abc"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	ackAll(t, dlq, []*bus.Delivery{got})

	// Everything is acked: a new member of the group gets nothing.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2 := consumer(t, b, bus.ConsumerConfig{Group: "g"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if ds, err := c2.Fetch(ctx, 10); err == nil {
		t.Fatalf("got %d records after all were acked", len(ds))
	}
}

func TestTooLarge(t *testing.T) {
	cfg := config(t, 1)
	cfg.MaxRecordBytes = 1000
	b := open(t, cfg)
	p := publisher(t, b, bus.PublisherConfig{})
	for _, tc := range []struct {
		name string
		m    bus.Message
		want error
	}{
		{"value", bus.Message{Key: []byte("k"), Value: make([]byte, 1001)}, bus.ErrTooLarge},
		{"headers", bus.Message{Key: []byte("k"), Value: make([]byte, 900), Headers: map[string]string{"h": string(make([]byte, 200))}}, bus.ErrTooLarge},
		{"fits", bus.Message{Key: []byte("k"), Value: make([]byte, 999)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := make(chan error, 1)
			err := p.Publish(context.Background(), tc.m, func(err error) { called <- err })
			if !errors.Is(err, tc.want) {
				t.Fatalf("Publish = %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				if err := <-called; err != nil {
					t.Fatalf("done(%v)", err)
				}
			}
		})
	}
}

// TestUnavailable stops the broker: Publish must fail fast with
// ErrUnavailable, keep at most MaxPending records, and work again once the
// broker is back.
func TestUnavailable(t *testing.T) {
	cfg := config(t, 2)
	b := open(t, cfg)
	const maxPending = 100
	p := publisher(t, b, bus.PublisherConfig{MaxPending: maxPending})
	publishAll(t, p, messages(10, 2))

	broker := kafkatest.Shared(t)
	broker.Stop(t)
	restarted := false
	defer func() {
		if !restarted {
			broker.Start(t)
		}
	}()
	var pending, failed atomic.Int64
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = p.Publish(ctx, bus.Message{Key: []byte("k"), Value: []byte("v")}, func(err error) {
			pending.Add(-1)
			if err != nil {
				failed.Add(1)
			}
		})
		cancel()
		if err != nil {
			break
		}
		if pending.Add(1) > maxPending {
			t.Fatalf("more than %d records pending", maxPending)
		}
	}
	if !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("Publish with the broker down = %v, want ErrUnavailable", err)
	}
	start := time.Now()
	for range 1000 {
		if err := p.Publish(context.Background(), bus.Message{Key: []byte("k")}, nil); !errors.Is(err, bus.ErrUnavailable) {
			t.Fatalf("Publish = %v, want ErrUnavailable", err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("1000 failing Publish calls took %v", d)
	}

	broker.Start(t)
	restarted = true
	deadline = time.Now().Add(30 * time.Second)
	for {
		done := make(chan error, 1)
		err := p.Publish(context.Background(), bus.Message{Key: []byte("k"), Value: []byte("again")}, func(err error) { done <- err })
		if err == nil {
			err = <-done
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish after restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d records failed while the broker was down", failed.Load())
}
