package natsbus

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
)

func TestPublishConsumeAck(t *testing.T) {
	ts := startServer(t, natsserver.Config{})
	b := ts.open(t, bus.Config{Topic: testTopic("pubcons"), Partitions: 4})

	const sessions, perSession = 20, 50
	var msgs []bus.Message
	for i := range perSession {
		for s := range sessions {
			m := msg("s"+strconv.Itoa(s), strconv.Itoa(i))
			m.Headers = map[string]string{"x-origin": "test"}
			msgs = append(msgs, m)
		}
	}
	publishSync(t, b, msgs...)

	c, err := b.Consumer(testCtx(t, 10*time.Second), bus.ConsumerConfig{Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ds := fetchN(t, c, len(msgs), 20*time.Second)
	last := map[string]int{}
	for _, d := range ds {
		k := string(d.Key)
		n, _ := strconv.Atoi(string(d.Value))
		if prev, ok := last[k]; ok && n != prev+1 {
			t.Fatalf("session %s: record %d after %d", k, n, prev)
		} else if !ok && n != 0 {
			t.Fatalf("session %s: first record %d", k, n)
		}
		last[k] = n
		if want := bus.Partition(d.Key, 4); d.Partition != want {
			t.Errorf("session %s on partition %d, want %d", k, d.Partition, want)
		}
		if d.Redelivered {
			t.Errorf("record %s/%d marked redelivered", k, n)
		}
		if d.Headers["x-origin"] != "test" || len(d.Headers) != 1 {
			t.Errorf("headers %v", d.Headers)
		}
	}
	if err := c.Ack(testCtx(t, 5*time.Second), ds...); err != nil {
		t.Fatalf("ack: %v", err)
	}
	c.Close()

	// Acknowledged records are not delivered again, to a new member.
	c2, err := b.Consumer(testCtx(t, 10*time.Second), bus.ConsumerConfig{Group: "g", AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fetchNone(t, c2, 2*time.Second)
}

func TestRedeliveryAfterAckWait(t *testing.T) {
	ts := startServer(t, natsserver.Config{})
	b := ts.open(t, bus.Config{Topic: testTopic("redeliver"), Partitions: 2})
	publishSync(t, b, msg("a", "1"), msg("a", "2"), msg("a", "3"))

	c, err := b.Consumer(testCtx(t, 10*time.Second), bus.ConsumerConfig{Group: "g", AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first := fetchN(t, c, 3, 10*time.Second)
	// Acknowledge the last record only: the first two come back.
	if err := c.Ack(testCtx(t, 5*time.Second), first[2]); err != nil {
		t.Fatal(err)
	}
	again := fetchN(t, c, 2, 10*time.Second)
	for i, d := range again {
		if d.Position != first[i].Position || !d.Redelivered {
			t.Errorf("redelivery %d: position %d redelivered %v, want position %d redelivered", i, d.Position, d.Redelivered, first[i].Position)
		}
	}
	if err := c.Ack(testCtx(t, 5*time.Second), again...); err != nil {
		t.Fatal(err)
	}
	fetchNone(t, c, 2500*time.Millisecond)
}

func TestDeadLetter(t *testing.T) {
	ts := startServer(t, natsserver.Config{})
	b := ts.open(t, bus.Config{Topic: testTopic("dlq"), Partitions: 3})
	publishSync(t, b, msg("k1", "good"), msg("k2", "poison"))

	c, err := b.Consumer(testCtx(t, 10*time.Second), bus.ConsumerConfig{Group: "g", AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testCtx(t, 10*time.Second)
	var poison *bus.Delivery
	for _, d := range fetchN(t, c, 2, 10*time.Second) {
		if string(d.Value) == "poison" {
			poison = d
			if err := c.DeadLetter(ctx, d, "bad json:\nunexpected end"); err != nil {
				t.Fatalf("dead-letter: %v", err)
			}
		} else if err := c.Ack(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	fetchNone(t, c, 2*time.Second) // the poison record was acknowledged

	dl, err := b.Consumer(ctx, bus.ConsumerConfig{Group: "g", DeadLetters: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	d := fetchN(t, dl, 1, 10*time.Second)[0]
	want := map[string]string{
		bus.HeaderDeadLetterReason:    "bad json: unexpected end",
		bus.HeaderDeadLetterPartition: strconv.Itoa(poison.Partition),
		bus.HeaderDeadLetterPosition:  strconv.FormatUint(poison.Position, 10),
	}
	for k, v := range want {
		if d.Headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, d.Headers[k], v)
		}
	}
	if string(d.Key) != "k2" || string(d.Value) != "poison" || d.Partition != 0 {
		t.Errorf("dead letter %q=%q on partition %d", d.Key, d.Value, d.Partition)
	}
	if err := dl.Ack(ctx, d); err != nil {
		t.Fatal(err)
	}
}

func TestTooLarge(t *testing.T) {
	ts := startServer(t, natsserver.Config{})
	b := ts.open(t, bus.Config{Topic: testTopic("large"), MaxRecordBytes: 1000})
	ctx := testCtx(t, 10*time.Second)
	p, err := b.Publisher(ctx, bus.PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	tests := []struct {
		name  string
		size  int
		large bool
	}{
		{"at limit", 1000, false},
		{"over limit", 1001, true},
		{"far over", 3 << 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := make(chan error, 1)
			err := p.Publish(ctx, msg("k", strings.Repeat("x", tt.size)), func(err error) { called <- err })
			if got := errors.Is(err, bus.ErrTooLarge); got != tt.large {
				t.Fatalf("Publish of %d bytes: %v, want ErrTooLarge %v", tt.size, err, tt.large)
			}
			if !tt.large {
				if err := <-called; err != nil {
					t.Fatalf("done: %v", err)
				}
			} else if len(called) > 0 {
				t.Fatal("done called for a refused record")
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	ts := startServer(t, natsserver.Config{})
	b := ts.open(t, bus.Config{Topic: testTopic("down")})
	ctx := testCtx(t, 20*time.Second)
	p, err := b.Publisher(ctx, bus.PublisherConfig{MaxPending: 100})
	if err != nil {
		t.Fatal(err)
	}
	ts.stop()
	// The client notices the outage within moments.
	for deadline := time.Now().Add(5 * time.Second); ; {
		err := p.Publish(ctx, msg("k", "v"), func(error) {})
		if errors.Is(err, bus.ErrUnavailable) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish with the server down: %v, want ErrUnavailable", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	for i := range 10000 {
		err := p.Publish(ctx, msg("k", "v"), func(error) {})
		if !errors.Is(err, bus.ErrUnavailable) {
			t.Fatalf("publish %d with the server down: %v, want ErrUnavailable", i, err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("10000 refused publishes took %v", d)
	}
	ts.start(t)
	// The connection comes back and publishing works again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		done := make(chan error, 1)
		err := p.Publish(ctx, msg("k", "v"), func(err error) { done <- err })
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
	// Flush reports the records that were in flight when the server went
	// down, once; then the publisher is clean.
	_ = p.Flush(ctx)
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	ts := startServer(t, natsserver.Config{})
	addr := ts.addr()
	ts.stop()
	_, err := Open(testCtx(t, 10*time.Second), bus.Config{Servers: []string{addr}})
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Open with no server: %v, want an error naming %s", err, addr)
	}
}

// TestFailover checks that a second member takes over the partitions of
// the first when it closes, and receives its unacknowledged records.
func TestFailover(t *testing.T) {
	ts := startServer(t, natsserver.Config{})
	b := ts.open(t, bus.Config{Topic: testTopic("failover"), Partitions: 2})
	ccfg := bus.ConsumerConfig{Group: "g", AckWait: 2 * time.Second}
	ctx := testCtx(t, 30*time.Second)

	c1, err := b.Consumer(ctx, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	var msgs []bus.Message
	for i := range 20 {
		msgs = append(msgs, msg(fmt.Sprintf("s%d", i%5), strconv.Itoa(i)))
	}
	publishSync(t, b, msgs...)
	got1 := fetchN(t, c1, 20, 10*time.Second)

	// The second member joins while the first holds both partitions: it
	// receives nothing.
	c2, err := b.Consumer(ctx, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	publishSync(t, b, msg("s0", "20"))
	if d := fetchN(t, c1, 1, 10*time.Second); string(d[0].Value) != "20" {
		t.Fatalf("member 1 got %q", d[0].Value)
	}
	fetchNone(t, c2, time.Second)

	// Acknowledge half, then leave: the other half goes to member 2.
	if err := c1.Ack(ctx, got1[:10]...); err != nil {
		t.Fatal(err)
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	publishSync(t, b, msg("s1", "21"))
	want := map[string]bool{"20": true, "21": true}
	for _, d := range got1[10:] {
		want[string(d.Value)] = true
	}
	seen := map[string]bool{}
	for len(seen) < len(want) {
		for _, d := range fetchN(t, c2, 1, 15*time.Second) {
			seen[string(d.Value)] = true
			if !want[string(d.Value)] {
				t.Errorf("member 2 got %q, acknowledged by member 1", d.Value)
			}
			_ = c2.Ack(ctx, d)
		}
	}
	t.Logf("member 2 took over in %v", time.Since(start))
}
