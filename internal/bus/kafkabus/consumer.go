package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// Consumer-group timing; see the package documentation.
const (
	heartbeatInterval = time.Second
	sessionTimeout    = 10 * time.Second
	rebalanceTimeout  = 10 * time.Second
	joinGroupBackoff  = 500 * time.Millisecond
	// fetchMaxWait is how long the broker may hold a fetch for MinBytes.
	fetchMaxWait = 250 * time.Millisecond
	// prefetch bounds the records read ahead of Fetch.
	prefetch = 20000
)

// consumer implements bus.Consumer with a kafka.Reader in a consumer
// group. A goroutine reads ahead into queue; Fetch takes from it.
type consumer struct {
	b     *Bus
	topic string
	r     *kafka.Reader

	cancel   context.CancelFunc
	pumpDone chan struct{}
	ready    chan struct{} // cap 1: queue has records or an error
	room     chan struct{} // cap 1: queue has room

	mu     sync.Mutex
	queue  readAhead
	err    error // the reader's last error, reported once by Fetch
	closed bool
	parts  map[int]*partAcks

	commitMu sync.Mutex // orders the commits of concurrent Acks
}

var _ bus.Consumer = (*consumer)(nil)

func newConsumer(b *Bus, cfg bus.ConsumerConfig) (*consumer, error) {
	topic, group := b.cfg.Topic, cfg.Group
	if cfg.DeadLetters {
		topic, group = bus.DeadLetterTopic(topic), group+"-dlq"
	}
	log := b.logger().With("topic", topic, "group", group)
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           b.cfg.Servers,
		GroupID:           group,
		Topic:             topic,
		Dialer:            b.dialer(),
		QueueCapacity:     1000,
		MinBytes:          1,
		MaxBytes:          max(16<<20, 2*b.cfg.MaxRecordBytes),
		MaxWait:           fetchMaxWait,
		HeartbeatInterval: heartbeatInterval,
		SessionTimeout:    sessionTimeout,
		RebalanceTimeout:  rebalanceTimeout,
		JoinGroupBackoff:  joinGroupBackoff,
		CommitInterval:    0, // Ack commits synchronously
		StartOffset:       kafka.FirstOffset,
		ReadBackoffMin:    50 * time.Millisecond,
		ReadBackoffMax:    time.Second,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			log.Debug("kafkabus: reader: " + fmt.Sprintf(msg, args...))
		}),
	})
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{
		b:        b,
		topic:    topic,
		r:        r,
		cancel:   cancel,
		pumpDone: make(chan struct{}),
		ready:    make(chan struct{}, 1),
		room:     make(chan struct{}, 1),
		parts:    make(map[int]*partAcks),
		queue:    readAhead{limit: prefetch},
	}
	go c.pump(ctx)
	return c, nil
}

// pump reads records ahead into queue until ctx ends or the reader fails.
func (c *consumer) pump(ctx context.Context) {
	defer close(c.pumpDone)
	for {
		m, err := c.r.FetchMessage(ctx)
		if err != nil {
			// The reader reports group errors (a broker restarting, say)
			// and keeps going; only closing it ends it.
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			signal(c.ready)
			if ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return
			}
			select {
			case <-time.After(100 * time.Millisecond):
				continue
			case <-ctx.Done():
				return
			}
		}
		c.mu.Lock()
		for c.queue.full() {
			c.mu.Unlock()
			select {
			case <-c.room:
			case <-ctx.Done():
				return
			}
			c.mu.Lock()
		}
		c.queue.push(m)
		c.mu.Unlock()
		signal(c.ready)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Fetch waits for records and returns up to max of them.
func (c *consumer) Fetch(ctx context.Context, max int) ([]*bus.Delivery, error) {
	if max <= 0 {
		max = 1
	}
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, fmt.Errorf("kafkabus: fetch: %w", bus.ErrClosed)
		}
		if n := c.queue.len(); n > 0 {
			ds := c.deliver(min(n, max))
			c.mu.Unlock()
			signal(c.room)
			return ds, nil
		}
		if err := c.err; err != nil {
			c.err = nil // reported once; the reader retries
			c.mu.Unlock()
			return nil, fmt.Errorf("kafkabus: fetch from %s: %w", c.topic, err)
		}
		c.mu.Unlock()
		select {
		case <-c.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// deliver turns the next n buffered records into deliveries. c.mu is held.
func (c *consumer) deliver(n int) []*bus.Delivery {
	ds := make([]bus.Delivery, n)
	out := make([]*bus.Delivery, n)
	c.queue.take(n, func(i int, m *kafka.Message) {
		pa := c.parts[m.Partition]
		switch {
		case pa == nil:
			pa = &partAcks{max: -1}
			c.parts[m.Partition] = pa
		case m.Offset <= pa.max:
			// The reader went back to the committed offset (a rebalance):
			// earlier deliveries of this partition can no longer be acked.
			pa.stale = true
			pa = &partAcks{max: -1, redelivered: true}
			c.parts[m.Partition] = pa
		}
		pa.delivered(m.Offset)
		d := &ds[i]
		d.Key, d.Value = m.Key, m.Value
		if len(m.Headers) > 0 {
			d.Headers = make(map[string]string, len(m.Headers))
			for _, h := range m.Headers {
				d.Headers[h.Key] = string(h.Value)
			}
		}
		d.Partition = m.Partition
		d.Position = uint64(m.Offset)
		d.Redelivered = pa.redelivered
		d.Stored = m.Time
		if behind := m.HighWaterMark - m.Offset - 1; behind > 0 {
			d.Pending = uint64(behind)
		}
		d.Ack = pa
		out[i] = d
	})
	return out
}

// Ack marks ds processed and commits, before it returns, the highest
// offset of each partition below which every delivered record is acked.
func (c *consumer) Ack(ctx context.Context, ds ...*bus.Delivery) error {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("kafkabus: ack: %w", bus.ErrClosed)
	}
	var moved []*partAcks
	for _, d := range ds {
		pa, ok := d.Ack.(*partAcks)
		if !ok {
			c.mu.Unlock()
			return fmt.Errorf("kafkabus: ack: delivery of partition %d position %d is not from a Kafka consumer", d.Partition, d.Position)
		}
		if pa.stale {
			continue // delivered again after a rebalance; that copy counts
		}
		if pa.ack(int64(d.Position)) && !pa.pending {
			pa.pending = true
			pa.partition = d.Partition
			moved = append(moved, pa)
		}
	}
	commits := make([]kafka.Message, 0, len(moved))
	for _, pa := range moved {
		pa.pending = false
		commits = append(commits, kafka.Message{Topic: c.topic, Partition: pa.partition, Offset: pa.commit})
	}
	c.mu.Unlock()
	if len(commits) == 0 {
		return nil
	}
	if err := c.r.CommitMessages(ctx, commits...); err != nil {
		return fmt.Errorf("kafkabus: commit offsets of %s: %w", c.topic, err)
	}
	return nil
}

// DeadLetter writes d to the dead-letter topic with reason and its origin
// in headers, waits until it is stored, and acks d.
func (c *consumer) DeadLetter(ctx context.Context, d *bus.Delivery, reason string) error {
	headers := make([]kafka.Header, 0, len(d.Headers)+3)
	for k, v := range d.Headers {
		switch k {
		case bus.HeaderDeadLetterReason, bus.HeaderDeadLetterPartition, bus.HeaderDeadLetterPosition:
			continue
		}
		headers = append(headers, kafka.Header{Key: k, Value: []byte(v)})
	}
	headers = append(headers,
		kafka.Header{Key: bus.HeaderDeadLetterReason, Value: []byte(reason)},
		kafka.Header{Key: bus.HeaderDeadLetterPartition, Value: strconv.AppendInt(nil, int64(d.Partition), 10)},
		kafka.Header{Key: bus.HeaderDeadLetterPosition, Value: strconv.AppendUint(nil, d.Position, 10)},
	)
	dlq := bus.DeadLetterTopic(c.b.cfg.Topic)
	recs := []record{{key: d.Key, value: d.Value, headers: headers}}
	if err := c.b.produceRetry(ctx, dlq, 0, kafka.Lz4, recs); err != nil {
		return fmt.Errorf("kafkabus: dead-letter partition %d position %d: %w", d.Partition, d.Position, err)
	}
	return c.Ack(ctx, d)
}

// Close leaves the group without committing anything.
func (c *consumer) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	err := c.r.Close()
	<-c.pumpDone
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("kafkabus: close consumer of %s: %w", c.topic, err)
	}
	return nil
}
