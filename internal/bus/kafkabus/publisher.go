package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// deliveryTimeout is how long a batch is retried (while the brokers are
// down, say) before its records fail.
const deliveryTimeout = 30 * time.Second

// maxBatchBytes bounds the bytes of the records in one produce request
// (a larger record goes alone), below the brokers' default
// message.max.bytes of 1 MiB.
const maxBatchBytes = 1<<20 - recordOverhead

// publisher implements bus.Publisher: it batches records per partition and
// sends each partition's batches one at a time, in order.
type publisher struct {
	b      *Bus
	cfg    bus.PublisherConfig
	codec  kafka.Compression
	topic  string
	maxRec int
	sem    chan struct{}
	health *health
	parts  []*partSender

	ctx    context.Context // ends when the publisher is closed
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeMu sync.RWMutex // held for reading while a record is queued
	closed  atomic.Bool

	errMu    sync.Mutex
	firstErr error
}

var _ bus.Publisher = (*publisher)(nil)

func newPublisher(b *Bus, cfg bus.PublisherConfig) (*publisher, error) {
	codec, err := compression(cfg.Compression)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &publisher{
		b:      b,
		cfg:    cfg,
		codec:  codec,
		topic:  b.cfg.Topic,
		maxRec: b.cfg.MaxRecordBytes,
		sem:    make(chan struct{}, cfg.MaxPending),
		health: newHealth(b.cfg.Servers),
		ctx:    ctx,
		cancel: cancel,
	}
	p.parts = make([]*partSender, b.partitions)
	for i := range p.parts {
		p.parts[i] = &partSender{p: p, partition: i, wake: make(chan struct{}, 1), changed: make(chan struct{})}
	}
	p.wg.Add(len(p.parts) + 1)
	go func() { defer p.wg.Done(); p.health.probe(ctx) }()
	for _, s := range p.parts {
		go func() { defer p.wg.Done(); s.run(ctx) }()
	}
	return p, nil
}

// compression maps a PublisherConfig.Compression name to kafka-go's codec.
func compression(name string) (kafka.Compression, error) {
	switch strings.ToLower(name) {
	case "", "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	case "snappy":
		return kafka.Snappy, nil
	case "gzip":
		return kafka.Gzip, nil
	case "none":
		return 0, nil
	}
	return 0, fmt.Errorf("kafkabus: unknown compression %q (want lz4, zstd, snappy, gzip or none)", name)
}

// Publish queues m on the partition of its key.
func (p *publisher) Publish(ctx context.Context, m bus.Message, done func(error)) error {
	if p.closed.Load() {
		return fmt.Errorf("kafkabus: publish: %w", bus.ErrClosed)
	}
	r := record{key: m.Key, value: m.Value, done: done}
	if len(m.Headers) > 0 {
		r.headers = make([]kafka.Header, 0, len(m.Headers))
		for k, v := range m.Headers {
			r.headers = append(r.headers, kafka.Header{Key: k, Value: []byte(v)})
		}
	}
	if n := r.size(); n > p.maxRec {
		return fmt.Errorf("kafkabus: publish: record of %d bytes, limit %d: %w", n, p.maxRec, bus.ErrTooLarge)
	}
	if down, err := p.health.isDown(); down {
		return fmt.Errorf("kafkabus: publish: brokers %s: %w: %w", p.b.brokers(), bus.ErrUnavailable, err)
	}
	select {
	case p.sem <- struct{}{}:
	default:
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("kafkabus: publish: %w", ctx.Err())
		case <-p.health.wait():
			_, err := p.health.isDown()
			return fmt.Errorf("kafkabus: publish: brokers %s: %w: %w", p.b.brokers(), bus.ErrUnavailable, err)
		case <-p.ctx.Done():
			return fmt.Errorf("kafkabus: publish: %w", bus.ErrClosed)
		}
	}
	p.closeMu.RLock()
	if p.closed.Load() {
		p.closeMu.RUnlock()
		<-p.sem
		return fmt.Errorf("kafkabus: publish: %w", bus.ErrClosed)
	}
	p.parts[bus.Partition(m.Key, len(p.parts))].enqueue(r)
	p.closeMu.RUnlock()
	return nil
}

// Flush waits until the records queued so far are stored or failed.
func (p *publisher) Flush(ctx context.Context) error {
	marks := make([]uint64, len(p.parts))
	for i, s := range p.parts {
		marks[i] = s.requestFlush()
	}
	for i, s := range p.parts {
		if err := s.waitDone(ctx, marks[i]); err != nil {
			return fmt.Errorf("kafkabus: flush: %w", err)
		}
	}
	p.errMu.Lock()
	defer p.errMu.Unlock()
	err := p.firstErr
	p.firstErr = nil
	return err
}

// Close flushes with ctx, then fails what is still queued with
// bus.ErrClosed and stops the publisher.
func (p *publisher) Close(ctx context.Context) error {
	p.closeMu.Lock()
	already := p.closed.Swap(true)
	p.closeMu.Unlock()
	if already {
		return nil
	}
	err := p.Flush(ctx)
	p.cancel()
	p.wg.Wait()
	return err
}

// complete reports the outcome of a batch to its records.
func (p *publisher) complete(recs []record, err error) {
	if err != nil {
		p.errMu.Lock()
		if p.firstErr == nil {
			p.firstErr = err
		}
		p.errMu.Unlock()
	}
	for i := range recs {
		if recs[i].done != nil {
			recs[i].done(err)
		}
		recs[i] = record{}
		<-p.sem
	}
}

// partSender queues and sends the records of one partition.
type partSender struct {
	p         *publisher
	partition int
	wake      chan struct{} // cap 1: records, a full batch or a flush are there

	mu       sync.Mutex
	buf      []record
	spare    []record
	first    time.Time // when the oldest record in buf was queued
	queued   uint64    // records queued so far
	taken    uint64    // records taken into batches so far
	finished uint64    // records stored or failed so far
	flushTo  uint64    // send at once up to this many queued records
	changed  chan struct{}
}

func (s *partSender) enqueue(r record) {
	s.mu.Lock()
	if len(s.buf) == 0 {
		s.first = time.Now()
	}
	s.buf = append(s.buf, r)
	s.queued++
	signal := len(s.buf) == 1 || len(s.buf) == s.p.cfg.BatchSize
	s.mu.Unlock()
	if signal {
		s.poke()
	}
}

func (s *partSender) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// requestFlush asks for the queued records to be sent without lingering
// and returns how many must be finished for them to be done.
func (s *partSender) requestFlush() uint64 {
	s.mu.Lock()
	s.flushTo = s.queued
	mark := s.queued
	s.mu.Unlock()
	s.poke()
	return mark
}

// waitDone waits until mark records are finished.
func (s *partSender) waitDone(ctx context.Context, mark uint64) error {
	for {
		s.mu.Lock()
		finished, ch := s.finished, s.changed
		s.mu.Unlock()
		if finished >= mark {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// run sends batches until ctx ends, then fails what is left.
func (s *partSender) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer func() {
		s.mu.Lock()
		left := s.buf
		s.buf = nil
		s.mu.Unlock()
		s.finish(left, fmt.Errorf("kafkabus: publisher closed before the record was sent: %w", bus.ErrClosed))
	}()
	for {
		select {
		case <-s.wake:
		case <-ctx.Done():
			return
		}
		for {
			s.mu.Lock()
			n := len(s.buf)
			if n == 0 {
				s.mu.Unlock()
				break
			}
			wait := s.p.cfg.Linger - time.Since(s.first)
			if n < s.p.cfg.BatchSize && s.flushTo <= s.taken && wait > 0 {
				s.mu.Unlock()
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-s.wake:
					timer.Stop()
				case <-ctx.Done():
					timer.Stop()
					return
				}
				continue
			}
			batch := s.take()
			s.mu.Unlock()
			s.send(ctx, batch)
		}
	}
}

// take removes the next batch from buf. s.mu is held.
func (s *partSender) take() []record {
	k, bytes := 0, 0
	for k < len(s.buf) && k < s.p.cfg.BatchSize {
		n := s.buf[k].size()
		if k > 0 && bytes+n > maxBatchBytes {
			break
		}
		bytes += n
		k++
	}
	batch := append(s.spare[:0], s.buf[:k]...)
	rest := copy(s.buf, s.buf[k:])
	clear(s.buf[rest:])
	s.buf = s.buf[:rest]
	if rest > 0 {
		s.first = time.Now()
	}
	s.taken += uint64(k)
	return batch
}

// send produces batch, retrying for up to deliveryTimeout, and completes
// its records.
func (s *partSender) send(ctx context.Context, batch []record) {
	p := s.p
	dctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	backoff := 50 * time.Millisecond
	var err error
	for {
		err = p.b.produce(dctx, p.topic, s.partition, p.codec, batch)
		if err == nil {
			break
		}
		if isNetworkError(err) {
			p.health.setDown(err)
			err = fmt.Errorf("%w: %w", bus.ErrUnavailable, err)
		}
		if !isRetriable(err) || dctx.Err() != nil {
			break
		}
		select {
		case <-dctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
	if err != nil {
		err = fmt.Errorf("kafkabus: produce to %s/%d: %w", p.topic, s.partition, err)
		if ctx.Err() != nil && !errors.Is(err, bus.ErrClosed) {
			err = fmt.Errorf("%w (%w)", err, bus.ErrClosed)
		}
	}
	s.finish(batch, err)
	s.spare = batch[:0]
}

// finish completes recs and wakes Flush.
func (s *partSender) finish(recs []record, err error) {
	if len(recs) == 0 {
		return
	}
	s.p.complete(recs, err)
	s.mu.Lock()
	s.finished += uint64(len(recs))
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}
