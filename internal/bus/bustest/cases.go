package bustest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// testPublishConsume100k: 100k records from 1000 sessions, published and
// consumed by one group member: equal counts, no duplicates, each session
// in order on the partition its xxhash64 picks.
func (s *suite) testPublishConsume100k(t *testing.T) {
	b, _ := s.open(t, "count")
	ctx := ctxFor(t, 3*time.Minute)
	want := workload("count", 1000, 100)
	p := s.publisher(t, b)
	if retries := publishAll(t, ctx, p, want, 300); retries != 0 {
		t.Errorf("%d publishes failed on a healthy bus", retries)
	}
	c := s.consumer(t, b, bus.ConsumerConfig{Group: "count"})
	defer c.Close()
	tl := newTally()
	if err := consume(ctx, c, tl, func() bool { return tl.unique() >= len(want) }); err != nil {
		t.Fatalf("consume: %v; got %d of %d", err, tl.unique(), len(want))
	}
	checkComplete(t, tl, want)
	if d := tl.duplicates(); d != 0 {
		t.Errorf("%d duplicates on a healthy bus", d)
	}
	if len(tl.outOfOrder) > 0 {
		t.Errorf("%d records out of session order, e.g. %v", len(tl.outOfOrder), tl.outOfOrder[:min(5, len(tl.outOfOrder))])
	}
	if len(tl.wrongPart) > 0 {
		t.Errorf("sessions split over partitions: %v", tl.wrongPart[:min(5, len(tl.wrongPart))])
	}
	for session, p := range tl.partition {
		if want := bus.Partition([]byte(session), partitions); p != want {
			t.Fatalf("session %s on partition %d, xxhash64 picks %d", session, p, want)
		}
	}
	// Nothing is left over.
	fctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if extra, err := c.Fetch(fctx, 10); err == nil && len(extra) > 0 {
		t.Errorf("%d records delivered after all were acknowledged", len(extra))
	}
}

// testTooLarge: an oversized record is refused at once and never calls
// done; the publisher keeps working.
func (s *suite) testTooLarge(t *testing.T) {
	b, cfg := s.open(t, "large")
	ctx := ctxFor(t, 30*time.Second)
	p := s.publisher(t, b)
	called := make(chan error, 1)
	err := p.Publish(ctx, record{"big", 0}.message(cfg.MaxRecordBytes+1), func(err error) { called <- err })
	if !errors.Is(err, bus.ErrTooLarge) {
		t.Fatalf("oversized record: got %v, want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(cfg.MaxRecordBytes)) {
		t.Errorf("error does not name the limit: %v", err)
	}
	publishAll(t, ctx, p, []record{{"small", 0}}, 100)
	select {
	case err := <-called:
		t.Errorf("done called for a refused record: %v", err)
	default:
	}
}

// testKillMidBatch: a member takes a batch and dies without acknowledging
// it; a second member gets the rest, the unacknowledged batch included.
func (s *suite) testKillMidBatch(t *testing.T) {
	b, _ := s.open(t, "kill")
	ctx := ctxFor(t, 3*time.Minute)
	want := workload("kill", 100, 20)
	publishAll(t, ctx, s.publisher(t, b), want, 300)

	cfg := bus.ConsumerConfig{Group: "kill", AckWait: 2 * time.Second}
	first := s.consumer(t, b, cfg)
	acked := newTally()
	if err := consume(ctx, first, acked, func() bool { return acked.unique() >= len(want)/4 }); err != nil {
		t.Fatal(err)
	}
	var unacked []*bus.Delivery
	for len(unacked) == 0 {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ds, err := first.Fetch(fctx, 200)
		cancel()
		if err != nil && ctx.Err() != nil {
			t.Fatalf("fetch the batch to drop: %v", err)
		}
		unacked = ds
	}
	_ = first.Close() // dies holding a batch it never acknowledged

	second := s.consumer(t, b, cfg)
	defer second.Close()
	rest := newTally()
	all := func() bool {
		n, _ := missingFrom(want, acked, rest)
		return n == 0
	}
	if err := consume(ctx, second, rest, all); err != nil {
		n, some := missingFrom(want, acked, rest)
		t.Fatalf("consume: %v; %d records never delivered, e.g. %v", err, n, some)
	}
	for _, d := range unacked {
		if r, _ := parseRecord(d.Value); !rest.has(r) {
			t.Fatalf("record %s of the unacknowledged batch was not delivered again", r.key())
		}
	}
	t.Logf("%d records acknowledged by the first member, %d delivered to the second (%d duplicates beyond the dropped batch of %d)",
		acked.unique(), rest.unique(), overlap(acked, rest), len(unacked))
}

// missingFrom counts records of want delivered to none of the tallies.
func missingFrom(want []record, tallies ...*tally) (n int, some []string) {
	for _, r := range want {
		found := false
		for _, tl := range tallies {
			if tl.has(r) {
				found = true
				break
			}
		}
		if !found {
			n++
			if len(some) < 5 {
				some = append(some, r.key())
			}
		}
	}
	return n, some
}

func overlap(a, b *tally) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for k := range a.count {
		if b.count[k] > 0 {
			n++
		}
	}
	return n
}

// testRebalance: a second member joins a consuming group, both consume,
// then the first leaves and every later record reaches the second.
func (s *suite) testRebalance(t *testing.T) {
	b, _ := s.open(t, "rebalance")
	ctx := ctxFor(t, 4*time.Minute)
	p := s.publisher(t, b)
	phase1 := workload("rb1", 200, 50)
	publishAll(t, ctx, p, phase1, 300)

	cfg := bus.ConsumerConfig{Group: "rebalance", AckWait: 3 * time.Second}
	first, second := s.consumer(t, b, cfg), bus.Consumer(nil)
	tlFirst, tlSecond := newTally(), newTally()
	if err := consume(ctx, first, tlFirst, func() bool { return tlFirst.unique() >= len(phase1)/3 }); err != nil {
		t.Fatal(err)
	}
	second = s.consumer(t, b, cfg)
	defer second.Close()
	var wg sync.WaitGroup
	phase1Done := func() bool { n, _ := missingFrom(phase1, tlFirst, tlSecond); return n == 0 }
	errs := make(chan error, 2)
	for _, m := range []struct {
		c  bus.Consumer
		tl *tally
	}{{first, tlFirst}, {second, tlSecond}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- consume(ctx, m.c, m.tl, phase1Done)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			n, some := missingFrom(phase1, tlFirst, tlSecond)
			t.Fatalf("phase 1: %v; %d records never delivered, e.g. %v", err, n, some)
		}
	}
	t.Logf("phase 1 with both members: first got %d, second %d", tlFirst.unique(), tlSecond.unique())
	_ = first.Close()

	phase2 := workload("rb2", 200, 25)
	publishAll(t, ctx, p, phase2, 300)
	if err := consume(ctx, second, tlSecond, func() bool { n, _ := tlSecond.missing(phase2); return n == 0 }); err != nil {
		n, some := tlSecond.missing(phase2)
		t.Fatalf("after the first member left, %d of %d new records did not reach the second, e.g. %v (%v)", n, len(phase2), some, err)
	}
}

// testDeadLetter: records the consumer cannot decode go to the dead-letter
// topic with their reason and origin; the rest of each partition flows.
func (s *suite) testDeadLetter(t *testing.T) {
	b, _ := s.open(t, "dlq")
	ctx := ctxFor(t, 2*time.Minute)
	p := s.publisher(t, b)
	var poison []bus.Message
	good := workload("dlq", 50, 20)
	for i, r := range good {
		if err := p.Publish(ctx, r.message(200), nil); err != nil {
			t.Fatal(err)
		}
		if i%100 == 50 {
			m := bus.Message{Key: []byte(r.session), Value: []byte(fmt.Sprintf("POISON %d {not json", i))}
			poison = append(poison, m)
			if err := p.Publish(ctx, m, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	c := s.consumer(t, b, bus.ConsumerConfig{Group: "dlq"})
	defer c.Close()
	tl := newTally()
	dead := 0
	for tl.unique() < len(good) || dead < len(poison) {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ds, err := c.Fetch(fctx, 100)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("consumed %d good and %d poison of %d and %d: %v", tl.unique(), dead, len(good), len(poison), err)
			}
			continue
		}
		var ok []*bus.Delivery
		for _, d := range ds {
			if strings.HasPrefix(string(d.Value), "POISON") {
				if err := c.DeadLetter(ctx, d, "cannot decode: "+string(d.Value[:10])); err != nil {
					t.Fatalf("dead letter: %v", err)
				}
				dead++
				continue
			}
			ok = append(ok, d)
		}
		tl.add(ok)
		if err := c.Ack(ctx, ok...); err != nil {
			t.Fatal(err)
		}
	}
	checkComplete(t, tl, good)

	dlq := s.consumer(t, b, bus.ConsumerConfig{Group: "dlq-reader", DeadLetters: true})
	defer dlq.Close()
	var got []*bus.Delivery
	for len(got) < len(poison) {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ds, err := dlq.Fetch(fctx, 100)
		cancel()
		if err != nil && ctx.Err() != nil {
			t.Fatalf("dead letters: got %d of %d: %v", len(got), len(poison), err)
		}
		got = append(got, ds...)
		_ = dlq.Ack(ctx, ds...)
	}
	if len(got) != len(poison) {
		t.Fatalf("got %d dead letters, want %d", len(got), len(poison))
	}
	for _, d := range got {
		reason := d.Headers[bus.HeaderDeadLetterReason]
		if !strings.HasPrefix(reason, "cannot decode: POISON") || !strings.HasPrefix(string(d.Value), "POISON") {
			t.Errorf("dead letter %q has reason %q", d.Value, reason)
		}
		if d.Headers[bus.HeaderDeadLetterPartition] == "" || d.Headers[bus.HeaderDeadLetterPosition] == "" || len(d.Key) == 0 {
			t.Errorf("dead letter lost its origin: key %q headers %v", d.Key, d.Headers)
		}
	}
}

// testBrokerRestart: the broker restarts mid-stream while a publisher and
// a consumer are connected; nothing acknowledged is lost.
func (s *suite) testBrokerRestart(t *testing.T) {
	if s.b.Stop == nil || s.b.Start == nil {
		t.Skip("backend cannot restart its broker")
	}
	b, _ := s.open(t, "restart")
	ctx := ctxFor(t, 4*time.Minute)
	p := s.publisher(t, b)
	before := workload("rs1", 100, 50)
	publishAll(t, ctx, p, before, 300)
	c := s.consumer(t, b, bus.ConsumerConfig{Group: "restart", AckWait: 3 * time.Second})
	defer c.Close()
	tl := newTally()
	if err := consume(ctx, c, tl, func() bool { return tl.unique() >= len(before)/2 }); err != nil {
		t.Fatal(err)
	}

	s.b.Stop(t)
	s.b.Start(t)

	after := workload("rs2", 100, 50)
	retries := publishAll(t, ctx, p, after, 300)
	all := append(append([]record{}, before...), after...)
	if err := consume(ctx, c, tl, func() bool { n, _ := tl.missing(all); return n == 0 }); err != nil {
		n, some := tl.missing(all)
		t.Fatalf("after the restart: %v; %d of %d records lost, e.g. %v", err, n, len(all), some)
	}
	t.Logf("restart: %d publishes retried, %d duplicates delivered", retries, tl.duplicates())
}

// testBusDown: with the broker down, Publish reports it at once instead of
// queueing, memory stays bounded, and publishing resumes when it is back.
func (s *suite) testBusDown(t *testing.T) {
	if s.b.Stop == nil || s.b.Start == nil {
		t.Skip("backend cannot stop its broker")
	}
	b, _ := s.open(t, "down")
	ctx := ctxFor(t, 3*time.Minute)
	p := s.publisher(t, b)
	publishAll(t, ctx, p, []record{{"up", 0}}, 300)

	s.b.Stop(t)
	restarted := false
	defer func() {
		if !restarted {
			s.b.Start(t)
		}
	}()

	// The publisher notices the outage.
	var err error
	for i := 0; ; i++ {
		pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err = p.Publish(pctx, record{"probe", i}.message(300), nil)
		cancel()
		if errors.Is(err, bus.ErrUnavailable) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("Publish never reported the bus unavailable; last error %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(err.Error(), "unavailable") {
		t.Errorf("error does not say the bus is unavailable: %v", err)
	}

	// 100k records of 1 KiB (100 MiB) offered while down: every Publish
	// returns an error and the heap does not grow by their size.
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	accepted := 0
	for i := range 100_000 {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		if p.Publish(pctx, record{"down", i}.message(1024), nil) == nil {
			accepted++
		}
		cancel()
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if accepted > 0 {
		t.Errorf("%d records accepted while the bus was known to be down", accepted)
	}
	if grew := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); grew > 32<<20 {
		t.Errorf("heap grew by %d MiB while offering 100 MiB to a down bus", grew>>20)
	}

	s.b.Start(t)
	restarted = true
	publishAll(t, ctx, p, []record{{"back", 0}}, 300)
}

// testStoredAndPending: each delivery says when the bus stored the record
// (within the publishing window) and how many records of its partition
// were stored after it; a bus.Lag fed with the batches sees the backlog
// shrink to 0 and the wait of the records.
func (s *suite) testStoredAndPending(t *testing.T) {
	b, _ := s.open(t, "lag")
	ctx := ctxFor(t, 2*time.Minute)
	want := workload("lag", 40, 25)
	perPartition := make([]uint64, partitions)
	for _, r := range want {
		perPartition[bus.Partition([]byte(r.session), partitions)]++
	}
	before := time.Now()
	publishAll(t, ctx, s.publisher(t, b), want, 200)
	after := time.Now()
	const wait = 300 * time.Millisecond // the records wait this long at least
	time.Sleep(wait)

	c := s.consumer(t, b, bus.ConsumerConfig{Group: "lag"})
	defer c.Close()
	const slack = 50 * time.Millisecond // timestamp precision (Kafka: ms)
	var lag bus.Lag
	delivered := make([]uint64, partitions) // per partition, in position order
	var maxPending uint64
	tl := newTally()
	for batch := 0; tl.unique() < len(want); batch++ {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ds, err := c.Fetch(fctx, 100)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of %d: %v", tl.unique(), len(want), err)
			}
			continue
		}
		taken := time.Now()
		lag.Observe(taken, ds)
		tl.add(ds)
		for _, d := range ds {
			if d.Stored.Before(before.Add(-slack)) || d.Stored.After(after.Add(slack)) {
				t.Fatalf("partition %d position %d stored at %v, outside the publishing window [%v, %v]",
					d.Partition, d.Position, d.Stored, before, after)
			}
			if d.Redelivered {
				t.Fatalf("partition %d position %d redelivered on a healthy bus", d.Partition, d.Position)
			}
			delivered[d.Partition]++
			if behind := perPartition[d.Partition] - delivered[d.Partition]; d.Pending != behind {
				t.Fatalf("partition %d position %d (record %d of %d): pending %d, want %d",
					d.Partition, d.Position, delivered[d.Partition], perPartition[d.Partition], d.Pending, behind)
			}
		}
		if got := lag.Lag(); got < wait || got > taken.Sub(before)+slack {
			t.Fatalf("batch %d: lag %v, want at least %v and at most %v", batch, got, wait, taken.Sub(before))
		}
		// The backlog is what the partitions delivered from still hold.
		var behind uint64
		for p, n := range delivered {
			if n > 0 {
				behind += perPartition[p] - n
			}
		}
		if got := lag.Pending(); got != behind {
			t.Fatalf("batch %d: backlog %d, want %d", batch, got, behind)
		}
		maxPending = max(maxPending, behind)
		if err := c.Ack(ctx, ds...); err != nil {
			t.Fatal(err)
		}
	}
	checkComplete(t, tl, want)
	if maxPending == 0 {
		t.Errorf("no backlog seen while taking %d records in batches", len(want))
	}
	if n := lag.Pending(); n != 0 {
		t.Errorf("backlog %d after every record was taken", n)
	}
	lag.Idle(time.Now())
	if l := lag.Lag(); l != 0 {
		t.Errorf("lag %v when idle with no backlog", l)
	}
}
