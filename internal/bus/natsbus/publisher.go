package natsbus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mcptrail/mcptrail/internal/bus"
)

const (
	// publishAckTimeout fails a record whose publish acknowledgement has
	// not come back in time, so done is always called.
	publishAckTimeout = 10 * time.Second
	// stallWait is how long one attempt waits for room below MaxPending
	// before Publish checks its context and the connection again.
	stallWait = 100 * time.Millisecond
	// headerOverhead is room for the NATS header block beyond key and
	// headers, when checking a record against the server's max payload.
	headerOverhead = 64
)

// publisher publishes records asynchronously with a bounded number of
// unacknowledged records. JetStream acknowledges each record; the ack and
// error handlers of its JetStream context call the record's done.
type publisher struct {
	b   *natsBus
	js  jetstream.JetStream
	cfg bus.PublisherConfig

	mu       sync.Mutex
	pending  map[*nats.Msg]func(error) // records awaiting their ack
	drained  chan struct{}             // closed when pending becomes empty
	firstErr error                     // first failure since the last Flush
	closed   bool
}

var _ bus.Publisher = (*publisher)(nil)

func newPublisher(b *natsBus, cfg bus.PublisherConfig) (*publisher, error) {
	p := &publisher{b: b, cfg: cfg, pending: make(map[*nats.Msg]func(error))}
	js, err := jetstream.New(b.nc,
		jetstream.WithPublishAsyncMaxPending(cfg.MaxPending),
		jetstream.WithPublishAsyncTimeout(publishAckTimeout),
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, _ *jetstream.PubAck) {
			p.resolve(m, nil)
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			p.resolve(m, err)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("natsbus: publisher: %w", err)
	}
	p.js = js
	return p, nil
}

// message builds the NATS message of m on its partition's subject.
func (p *publisher) message(m bus.Message) (*nats.Msg, error) {
	size := len(m.Value)
	if size > p.b.cfg.MaxRecordBytes {
		return nil, fmt.Errorf("natsbus: record of %d bytes, the limit is %d: %w", size, p.b.cfg.MaxRecordBytes, bus.ErrTooLarge)
	}
	h := make(nats.Header, 1+len(m.Headers))
	h[headerKey] = []string{string(m.Key)}
	wire := len(m.Value) + len(headerKey) + len(m.Key) + headerOverhead
	for k, v := range m.Headers {
		h[k] = []string{v}
		wire += len(k) + len(v) + 4
	}
	if m.ID != "" {
		h[nats.MsgIdHdr] = []string{m.ID} // JetStream's duplicate window drops a resend
		wire += len(nats.MsgIdHdr) + len(m.ID) + 4
	}
	if max := p.b.nc.MaxPayload(); max > 0 && int64(wire) > max {
		return nil, fmt.Errorf("natsbus: record of %d bytes on the wire, the server's max payload is %d: %w", wire, max, bus.ErrTooLarge)
	}
	part := bus.Partition(m.Key, p.b.layout.partitions)
	return &nats.Msg{Subject: p.b.layout.subjects[part], Header: h, Data: m.Value}, nil
}

// Publish queues m. It blocks while MaxPending records are unacknowledged.
func (p *publisher) Publish(ctx context.Context, m bus.Message, done func(error)) error {
	if err := p.b.unavailable(); err != nil {
		return fmt.Errorf("natsbus: publish: %w", err)
	}
	msg, err := p.message(m)
	if err != nil {
		return err
	}
	if done == nil {
		done = func(error) {}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("natsbus: publish: %w", bus.ErrClosed)
	}
	p.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("natsbus: publish: %w", err)
		}
		if err := p.b.unavailable(); err != nil {
			return fmt.Errorf("natsbus: publish: %w", err)
		}
		// Register before publishing: the ack can arrive before
		// PublishMsgAsync returns.
		p.track(msg, done)
		_, err := p.js.PublishMsgAsync(msg, jetstream.WithStallWait(stallWait))
		if err == nil {
			return nil
		}
		p.untrack(msg)
		switch {
		case errors.Is(err, jetstream.ErrTooManyStalledMsgs):
			continue // still at MaxPending: wait again
		case errors.Is(err, nats.ErrConnectionClosed):
			return fmt.Errorf("natsbus: publish: %w", bus.ErrClosed)
		case errors.Is(err, nats.ErrReconnectBufExceeded), errors.Is(err, nats.ErrConnectionReconnecting),
			errors.Is(err, nats.ErrDisconnected), errors.Is(err, nats.ErrNoServers):
			return fmt.Errorf("natsbus: publish: %w: %w", bus.ErrUnavailable, err)
		case errors.Is(err, nats.ErrMaxPayload):
			return fmt.Errorf("natsbus: publish: %w: %w", bus.ErrTooLarge, err)
		default:
			return fmt.Errorf("natsbus: publish to %s: %w", msg.Subject, err)
		}
	}
}

func (p *publisher) track(m *nats.Msg, done func(error)) {
	p.mu.Lock()
	if len(p.pending) == 0 {
		p.drained = make(chan struct{})
	}
	p.pending[m] = done
	p.mu.Unlock()
}

// untrack forgets m without calling its done.
func (p *publisher) untrack(m *nats.Msg) {
	p.mu.Lock()
	if _, ok := p.pending[m]; ok {
		delete(p.pending, m)
		if len(p.pending) == 0 {
			close(p.drained)
		}
	}
	p.mu.Unlock()
}

// resolve calls the done of m exactly once, with err.
func (p *publisher) resolve(m *nats.Msg, err error) {
	p.mu.Lock()
	done, ok := p.pending[m]
	if !ok {
		p.mu.Unlock()
		return
	}
	delete(p.pending, m)
	if err != nil {
		err = fmt.Errorf("natsbus: publish to %s: %w", m.Subject, err)
		if p.firstErr == nil {
			p.firstErr = err
		}
	}
	var drained chan struct{}
	if len(p.pending) == 0 {
		drained = p.drained
	}
	p.mu.Unlock()
	done(err)
	if drained != nil {
		close(drained)
	}
}

// Flush waits until every record published so far is acknowledged or
// failed, and returns the first failure since the last Flush.
func (p *publisher) Flush(ctx context.Context) error {
	p.mu.Lock()
	drained := p.drained
	empty := len(p.pending) == 0
	p.mu.Unlock()
	if !empty {
		select {
		case <-drained:
		case <-ctx.Done():
			return fmt.Errorf("natsbus: flush: %w", ctx.Err())
		}
	}
	p.mu.Lock()
	err := p.firstErr
	p.firstErr = nil
	p.mu.Unlock()
	return err
}

// Close flushes with ctx, refuses further records and releases the
// publisher's reply subscription. Records still unacknowledged when ctx
// ends fail (their done gets an error).
func (p *publisher) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.Flush(ctx)
	p.js.CleanupPublisher()
	return err
}
