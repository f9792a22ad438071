package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// Consumer tuning.
const (
	// pullBatch is how many records a partition's pull requests ask for.
	pullBatch = 1000
	// pullExpiry is how long a pull request waits at the server. The
	// pinned member renews its requests at least this often, which keeps
	// its pin (pinnedTTL).
	pullExpiry = 2 * time.Second
	// pinnedTTL is how long a partition stays pinned to a member that has
	// stopped pulling, before the server pins another member.
	pinnedTTL = 5 * time.Second
	// maxAckPending bounds the unacknowledged records of one partition.
	maxAckPending = 20000
	// fetchBuffer is how many received records wait for Fetch.
	fetchBuffer = 1024
	// retryPause is the pause before a failed pull is tried again.
	retryPause = 200 * time.Millisecond
	// closeTimeout bounds the hand-over of pinned partitions on Close.
	closeTimeout = 3 * time.Second
)

// consumer is one member of a consumer group: it pulls from every
// partition's durable consumer and receives the records of the partitions
// the server has pinned to it.
type consumer struct {
	b     *natsBus
	cfg   bus.ConsumerConfig
	parts []*partition
	msgs  chan received
	stop  chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex
	closed bool
}

var _ bus.Consumer = (*consumer)(nil)

// partition is one partition's durable consumer as this member sees it.
type partition struct {
	idx    int
	name   string
	stream jetstream.Stream
	cons   jetstream.Consumer

	mu    sync.Mutex
	cc    jetstream.ConsumeContext // the running pull, for Close to stop
	pinID string                   // the pin the server gave this member, if any
}

// received is a record a pump took from the server.
type received struct {
	p    *partition
	msg  jetstream.Msg
	meta *jetstream.MsgMetadata
}

// ackHandle is the bus.Delivery.Ack of a record.
type ackHandle struct {
	c   *consumer
	p   *partition
	seq uint64
	msg jetstream.Msg
}

func newConsumer(ctx context.Context, b *natsBus, cfg bus.ConsumerConfig) (*consumer, error) {
	streamNames := b.layout.streams
	if cfg.DeadLetters {
		streamNames = []string{b.layout.dlqStream}
	}
	c := &consumer{
		b:    b,
		cfg:  cfg,
		msgs: make(chan received, fetchBuffer),
		stop: make(chan struct{}),
	}
	for i, streamName := range streamNames {
		stream, err := b.js.Stream(ctx, streamName)
		if err != nil {
			return nil, fmt.Errorf("natsbus: stream %s: %w", streamName, err)
		}
		name := consumerName(cfg.Group, i)
		cc := jetstream.ConsumerConfig{
			Durable:        name,
			Description:    "mcptrail consumer group " + cfg.Group + ", partition " + strconv.Itoa(i),
			DeliverPolicy:  jetstream.DeliverAllPolicy,
			AckPolicy:      jetstream.AckExplicitPolicy,
			AckWait:        cfg.AckWait,
			MaxAckPending:  maxAckPending,
			PriorityPolicy: jetstream.PriorityPolicyPinned,
			PriorityGroups: []string{priorityGroup},
			PinnedTTL:      pinnedTTL,
		}
		cons, err := stream.CreateOrUpdateConsumer(ctx, cc)
		if err != nil {
			return nil, fmt.Errorf("natsbus: create consumer %s on stream %s: %w", name, streamName, err)
		}
		c.parts = append(c.parts, &partition{idx: i, name: name, stream: stream, cons: cons})
	}
	for _, p := range c.parts {
		c.wg.Add(1)
		go c.pump(p)
	}
	return c, nil
}

// pump pulls the records of p while this member is pinned to it (the
// server holds the pull requests of other members) and hands them to
// Fetch in order. A pull that ends (the consumer was deleted, the
// connection closed) is started again until the consumer closes.
func (c *consumer) pump(p *partition) {
	defer c.wg.Done()
	log := c.b.log.With("consumer", p.name)
	for {
		cc, err := p.cons.Consume(func(m jetstream.Msg) { c.receive(p, m, log) },
			jetstream.PullPriorityGroup(priorityGroup),
			jetstream.PullMaxMessages(pullBatch),
			jetstream.PullExpiry(pullExpiry),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				log.Debug("natsbus: pull", "err", err)
			}),
		)
		if err != nil {
			log.Debug("natsbus: pull", "err", err)
			if !c.pause(retryPause) {
				return
			}
			continue
		}
		if !c.setPull(p, cc) {
			cc.Stop()
			return
		}
		select {
		case <-cc.Closed():
		case <-c.stop:
			return
		}
		if !c.pause(retryPause) {
			return
		}
	}
}

// receive hands m, a record of p, to Fetch. It runs on the pull's
// goroutine, one record after the other, and blocks while Fetch has
// fetchBuffer records waiting.
func (c *consumer) receive(p *partition, m jetstream.Msg, log *slog.Logger) {
	meta, err := m.Metadata()
	if err != nil {
		log.Debug("natsbus: message metadata", "err", err)
		return
	}
	if pin := m.Headers().Get(headerPinID); pin != "" {
		p.mu.Lock()
		p.pinID = pin
		p.mu.Unlock()
	}
	select {
	case c.msgs <- received{p: p, msg: m, meta: meta}:
	case <-c.stop:
	}
}

// setPull records the running pull of p so Close can stop it; false when
// the consumer is closed.
func (c *consumer) setPull(p *partition, cc jetstream.ConsumeContext) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	p.mu.Lock()
	p.cc = cc
	p.mu.Unlock()
	return true
}

// pause waits d; false when the consumer or its connection closed
// meanwhile.
func (c *consumer) pause(d time.Duration) bool {
	if c.b.nc.IsClosed() {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.stop:
		return false
	}
}

// Fetch waits for a record and returns up to max of those received.
func (c *consumer) Fetch(ctx context.Context, max int) ([]*bus.Delivery, error) {
	if max <= 0 {
		max = 1
	}
	var first received
	select {
	case first = <-c.msgs:
	case <-c.stop:
		return nil, fmt.Errorf("natsbus: fetch: %w", bus.ErrClosed)
	case <-ctx.Done():
		return nil, fmt.Errorf("natsbus: fetch: %w", ctx.Err())
	}
	n := min(max, 1+len(c.msgs))
	ds := make([]bus.Delivery, n)
	hs := make([]ackHandle, n)
	out := make([]*bus.Delivery, 0, n)
	r := first
	for i := range n {
		if i > 0 {
			select {
			case r = <-c.msgs:
			default:
				return out, nil
			}
		}
		c.fill(&ds[i], &hs[i], r)
		out = append(out, &ds[i])
	}
	return out, nil
}

// fill makes d the delivery of r, with h as its ack handle.
func (c *consumer) fill(d *bus.Delivery, h *ackHandle, r received) {
	hdr := r.msg.Headers()
	var extra map[string]string
	for k, v := range hdr {
		if k == headerKey || strings.HasPrefix(k, "Nats-") || len(v) == 0 {
			continue
		}
		if extra == nil {
			extra = make(map[string]string, len(hdr))
		}
		extra[k] = v[0]
	}
	*h = ackHandle{c: c, p: r.p, seq: r.meta.Sequence.Stream, msg: r.msg}
	*d = bus.Delivery{
		Message: bus.Message{
			Key:     []byte(hdr.Get(headerKey)),
			Value:   r.msg.Data(),
			Headers: extra,
		},
		Partition:   r.p.idx,
		Position:    r.meta.Sequence.Stream,
		Redelivered: r.meta.NumDelivered > 1,
		Stored:      r.meta.Timestamp,
		Pending:     r.meta.NumPending,
		Ack:         h,
	}
}

// handle returns the ack handle of d, checking it came from c.
func (c *consumer) handle(d *bus.Delivery) (*ackHandle, error) {
	h, ok := d.Ack.(*ackHandle)
	if !ok || h.c != c {
		return nil, fmt.Errorf("natsbus: delivery of partition %d position %d is not from this consumer", d.Partition, d.Position)
	}
	return h, nil
}

// Ack acknowledges ds. The acknowledgements go out without waiting; the
// last one of each partition waits for the server's confirmation, which
// comes after the server processed the ones before it.
func (c *consumer) Ack(ctx context.Context, ds ...*bus.Delivery) error {
	if c.isClosed() {
		return fmt.Errorf("natsbus: ack: %w", bus.ErrClosed)
	}
	last := make([]*ackHandle, len(c.parts))
	for _, d := range ds {
		h, err := c.handle(d)
		if err != nil {
			return err
		}
		if prev := last[h.p.idx]; prev != nil {
			if err := prev.msg.Ack(); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
				return fmt.Errorf("natsbus: ack partition %d position %d: %w", prev.p.idx, prev.seq, err)
			}
		}
		last[h.p.idx] = h
	}
	var targets []*ackHandle
	for _, h := range last {
		if h != nil {
			targets = append(targets, h)
		}
	}
	return c.confirm(ctx, targets)
}

// confirm acknowledges the records of hs and waits for the server to
// confirm each.
func (c *consumer) confirm(ctx context.Context, hs []*ackHandle) error {
	ack := func(h *ackHandle) error {
		if err := h.msg.DoubleAck(ctx); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
			return fmt.Errorf("natsbus: ack partition %d position %d: %w", h.p.idx, h.seq, err)
		}
		return nil
	}
	switch len(hs) {
	case 0:
		return nil
	case 1:
		return ack(hs[0])
	}
	errs := make([]error, len(hs))
	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Go(func() { errs[i] = ack(h) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// DeadLetter publishes d to the dead-letter stream with reason and its
// original partition and position, waits for the stream to store it, then
// acknowledges d.
func (c *consumer) DeadLetter(ctx context.Context, d *bus.Delivery, reason string) error {
	if _, err := c.handle(d); err != nil {
		return err
	}
	if c.isClosed() {
		return fmt.Errorf("natsbus: dead-letter: %w", bus.ErrClosed)
	}
	msg := deadLetterMsg(c.b.layout.dlqSubject, d, reason)
	if _, err := c.b.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("natsbus: dead-letter partition %d position %d to %s: %w", d.Partition, d.Position, c.b.layout.dlqStream, err)
	}
	return c.Ack(ctx, d)
}

func (c *consumer) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Close stops pulling, without acknowledging, and hands the partitions
// pinned to this member over to the other members of the group.
func (c *consumer) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.stop)
	c.mu.Unlock()
	for _, p := range c.parts {
		p.mu.Lock()
		if p.cc != nil {
			p.cc.Stop()
		}
		p.mu.Unlock()
	}
	c.wg.Wait()
	if c.b.unavailable() != nil {
		return nil // the pins lapse after pinnedTTL
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range c.parts {
		p.mu.Lock()
		pin := p.pinID
		p.mu.Unlock()
		if pin == "" {
			continue
		}
		wg.Go(func() { c.unpin(ctx, p, pin) })
	}
	wg.Wait()
	return nil
}

// unpin releases the pin of p when it is still the one given to this
// member, so that the server pins another member at once.
func (c *consumer) unpin(ctx context.Context, p *partition, pin string) {
	info, err := p.cons.Info(ctx)
	if err != nil {
		c.b.log.Debug("natsbus: consumer info", "consumer", p.name, "err", err)
		return
	}
	for _, g := range info.PriorityGroups {
		if g.Group == priorityGroup && g.PinnedClientID == pin {
			if err := p.stream.UnpinConsumer(ctx, p.name, priorityGroup); err != nil {
				c.b.log.Debug("natsbus: unpin", "consumer", p.name, "err", err)
			}
		}
	}
}
