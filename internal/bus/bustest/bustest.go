// Package bustest is the conformance suite every bus implementation
// passes, against a real broker: counts with zero loss, per-session order,
// keying by xxhash64, each delivery's stored time and backlog, redelivery after a consumer dies mid-batch, a group
// rebalance, dead letters, a broker restart mid-stream, and the publisher's
// behaviour while the bus is down.
package bustest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// Backend is what the conformance suite needs from an implementation.
type Backend struct {
	// Name labels the subtests.
	Name string
	// Open connects a new Bus with cfg; the suite sets Topic, Partitions
	// and MaxRecordBytes, Open fills in servers, auth and data dir.
	Open func(t *testing.T, cfg bus.Config) bus.Bus
	// Stop stops the broker keeping its data; Start starts it again on the
	// same address. When both are nil the restart tests are skipped.
	Stop  func(t *testing.T)
	Start func(t *testing.T)
}

// Run runs the whole suite against b.
func Run(t *testing.T, b Backend) {
	s := &suite{b: b}
	t.Run("PublishConsume100k", s.testPublishConsume100k)
	t.Run("StoredAndPending", s.testStoredAndPending)
	t.Run("TooLarge", s.testTooLarge)
	t.Run("KillMidBatch", s.testKillMidBatch)
	t.Run("Rebalance", s.testRebalance)
	t.Run("DeadLetter", s.testDeadLetter)
	t.Run("BrokerRestart", s.testBrokerRestart)
	t.Run("BusDown", s.testBusDown)
}

type suite struct {
	b     Backend
	topic atomic.Int64
}

const partitions = 8

// open connects a bus on a fresh topic and closes it when the test ends.
func (s *suite) open(t *testing.T, name string) (bus.Bus, bus.Config) {
	t.Helper()
	cfg := bus.Config{
		Topic:          fmt.Sprintf("conf-%s-%d-%d", strings.ToLower(name), time.Now().UnixNano()%1e6, s.topic.Add(1)),
		Partitions:     partitions,
		MaxRecordBytes: 64 << 10,
	}
	b := s.b.Open(t, cfg)
	t.Cleanup(func() { _ = b.Close() })
	return b, cfg
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// record is one test record: a session and its sequence number.
type record struct {
	session string
	seq     int
}

func (r record) key() string { return r.session + "/" + strconv.Itoa(r.seq) }

// message encodes r as a value of size bytes.
func (r record) message(size int) bus.Message {
	v := fmt.Sprintf("session=%s seq=%d ", r.session, r.seq)
	if len(v) < size {
		v += strings.Repeat("x", size-len(v))
	}
	return bus.Message{Key: []byte(r.session), Value: []byte(v)}
}

func parseRecord(v []byte) (record, bool) {
	f := strings.Fields(string(v))
	if len(f) < 2 || !strings.HasPrefix(f[0], "session=") || !strings.HasPrefix(f[1], "seq=") {
		return record{}, false
	}
	seq, err := strconv.Atoi(strings.TrimPrefix(f[1], "seq="))
	return record{strings.TrimPrefix(f[0], "session="), seq}, err == nil
}

// workload returns sessions × perSession records, interleaved across
// sessions as a busy collector fleet would send them.
func workload(prefix string, sessions, perSession int) []record {
	out := make([]record, 0, sessions*perSession)
	for seq := range perSession {
		for s := range sessions {
			out = append(out, record{fmt.Sprintf("%s-%04d", prefix, s), seq})
		}
	}
	return out
}

// publishAll publishes recs and waits for every acknowledgement. A record
// whose publish fails (Publish error or done error) is published again,
// until all are stored or ctx ends; it returns how many retries it took.
func publishAll(t *testing.T, ctx context.Context, p bus.Publisher, recs []record, size int) int {
	t.Helper()
	retries := 0
	pending := recs
	for len(pending) > 0 {
		var mu sync.Mutex
		var failed []record
		for _, r := range pending {
			done := func(err error) {
				if err != nil {
					mu.Lock()
					failed = append(failed, r)
					mu.Unlock()
				}
			}
			if err := p.Publish(ctx, r.message(size), done); err != nil {
				if ctx.Err() != nil {
					t.Fatalf("publish: %v (gave up after %d retries)", err, retries)
				}
				mu.Lock()
				failed = append(failed, r)
				mu.Unlock()
			}
		}
		if err := p.Flush(ctx); err != nil && ctx.Err() != nil {
			t.Fatalf("flush: %v", err)
		}
		mu.Lock()
		pending = failed
		mu.Unlock()
		if len(pending) > 0 {
			retries += len(pending)
			select {
			case <-ctx.Done():
				t.Fatalf("%d records still unpublished: %v", len(pending), ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return retries
}

// tally records what consumers received.
type tally struct {
	mu         sync.Mutex
	count      map[string]int // record key -> deliveries
	last       map[string]int // session -> last seq delivered
	outOfOrder []string
	partition  map[string]int // session -> partition
	wrongPart  []string
	unparsed   int
}

func newTally() *tally {
	return &tally{count: map[string]int{}, last: map[string]int{}, partition: map[string]int{}}
}

func (tl *tally) add(ds []*bus.Delivery) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, d := range ds {
		r, ok := parseRecord(d.Value)
		if !ok || string(d.Key) != r.session {
			tl.unparsed++
			continue
		}
		tl.count[r.key()]++
		if tl.count[r.key()] == 1 {
			if last, seen := tl.last[r.session]; seen && r.seq <= last {
				tl.outOfOrder = append(tl.outOfOrder, fmt.Sprintf("%s after seq %d", r.key(), last))
			}
			tl.last[r.session] = max(tl.last[r.session], r.seq)
		}
		if p, seen := tl.partition[r.session]; seen && p != d.Partition {
			tl.wrongPart = append(tl.wrongPart, fmt.Sprintf("%s on partitions %d and %d", r.session, p, d.Partition))
		}
		tl.partition[r.session] = d.Partition
	}
}

func (tl *tally) unique() int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return len(tl.count)
}

func (tl *tally) duplicates() int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	n := 0
	for _, c := range tl.count {
		n += c - 1
	}
	return n
}

func (tl *tally) has(r record) bool {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.count[r.key()] > 0
}

// missing lists up to 5 records of want that were never delivered.
func (tl *tally) missing(want []record) (n int, some []string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, r := range want {
		if tl.count[r.key()] == 0 {
			n++
			if len(some) < 5 {
				some = append(some, r.key())
			}
		}
	}
	return n, some
}

// consume fetches and acknowledges until stop says so or ctx ends. Fetch
// errors are tolerated (a broker may be restarting) until ctx ends.
func consume(ctx context.Context, c bus.Consumer, into *tally, stop func() bool) error {
	var lastErr error
	for !stop() {
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last fetch error: %v)", ctx.Err(), lastErr)
		}
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ds, err := c.Fetch(fctx, 500)
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				lastErr = err
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		into.add(ds)
		if err := c.Ack(ctx, ds...); err != nil {
			lastErr = err
		}
	}
	return nil
}

func (s *suite) consumer(t *testing.T, b bus.Bus, cfg bus.ConsumerConfig) bus.Consumer {
	t.Helper()
	c, err := b.Consumer(ctxFor(t, 30*time.Second), cfg)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	return c
}

func (s *suite) publisher(t *testing.T, b bus.Bus) bus.Publisher {
	t.Helper()
	p, err := b.Publisher(ctxFor(t, 30*time.Second), bus.PublisherConfig{MaxPending: 4096})
	if err != nil {
		t.Fatalf("publisher: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

func checkComplete(t *testing.T, tl *tally, want []record) {
	t.Helper()
	if n, some := tl.missing(want); n > 0 {
		t.Fatalf("%d of %d records lost, e.g. %v", n, len(want), some)
	}
	if tl.unparsed > 0 {
		t.Errorf("%d deliveries with a wrong key or value", tl.unparsed)
	}
}
