package natsbus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/mcptrail/mcptrail/internal/bus"
)

const (
	// publishAckTimeout fails a record whose publish acknowledgement has
	// not come back in time, so done is always called. It is checked every
	// ackSweep, so a record fails between publishAckTimeout and
	// publishAckTimeout+ackSweep after it was sent.
	publishAckTimeout = 10 * time.Second
	ackSweep          = time.Second
	// stallWait is how long one attempt waits for room below MaxPending
	// before Publish checks its context and the connection again.
	stallWait = 100 * time.Millisecond
	// noResponderRetries and noResponderWait: a record that no stream took
	// (the server answered "no responders", as while JetStream recovers
	// after a restart) is sent again this often, this much later.
	noResponderRetries = 2
	noResponderWait    = 250 * time.Millisecond
	// headerOverhead is room for the NATS header block beyond key and
	// headers, when checking a record against the server's max payload.
	headerOverhead = 64
)

// publisher publishes records asynchronously with a bounded number of
// unacknowledged records. It sends each record with a reply subject of its
// own in an inbox it subscribes to, where JetStream sends the record's
// publish acknowledgement. One subscription, a map of pending records
// and a sweep for lost acknowledgements serve every record, instead of a
// timer, a future and a JSON decoding per record.
type publisher struct {
	b      *natsBus
	inbox  string // reply subject prefix, "<inbox>."
	sub    *nats.Subscription
	slots  chan struct{}    // one token per pending record, MaxPending in all
	stop   chan struct{}    // closed by Close: ends the sweep and the watcher
	status chan nats.Status // connection losses, for the watcher
	epoch  atomic.Int64     // counts sweeps; a record remembers the one it was sent in

	mu       sync.Mutex
	nextID   uint64
	pending  map[uint64]pendingRecord
	drained  chan struct{} // closed when pending becomes empty
	firstErr error         // first failure since the last Flush
	closed   bool
}

// pendingRecord is a record sent and not yet acknowledged.
type pendingRecord struct {
	msg     *nats.Msg
	done    func(error)
	epoch   int64 // the sweep epoch it was sent in
	retries int   // resends after "no responders"
}

var _ bus.Publisher = (*publisher)(nil)

func newPublisher(b *natsBus, cfg bus.PublisherConfig) (*publisher, error) {
	p := &publisher{
		b:       b,
		inbox:   b.nc.NewInbox() + ".",
		slots:   make(chan struct{}, cfg.MaxPending),
		stop:    make(chan struct{}),
		pending: make(map[uint64]pendingRecord),
	}
	sub, err := b.nc.Subscribe(p.inbox+"*", p.handleAck)
	if err != nil {
		return nil, fmt.Errorf("natsbus: publisher: subscribe to acknowledgements: %w", err)
	}
	p.sub = sub
	p.status = b.nc.StatusChanged(nats.RECONNECTING, nats.CLOSED)
	go p.sweep()
	go p.watch(p.status)
	return p, nil
}

// message builds the NATS message of m on its partition's subject.
func (p *publisher) message(m bus.Message) (*nats.Msg, error) {
	size := len(m.Value)
	if size > p.b.cfg.MaxRecordBytes {
		return nil, fmt.Errorf("natsbus: record of %d bytes, the limit is %d: %w", size, p.b.cfg.MaxRecordBytes, bus.ErrTooLarge)
	}
	n := 1 + len(m.Headers)
	if m.ID != "" {
		n++
	}
	// One backing array for every header value.
	vals := make([]string, 0, n)
	h := make(nats.Header, n)
	set := func(k, v string) {
		vals = append(vals, v)
		h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	set(headerKey, string(m.Key))
	wire := len(m.Value) + len(headerKey) + len(m.Key) + headerOverhead
	for k, v := range m.Headers {
		set(k, v)
		wire += len(k) + len(v) + 4
	}
	if m.ID != "" {
		set(nats.MsgIdHdr, m.ID) // JetStream's duplicate window drops a resend
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
	if err := p.acquire(ctx); err != nil {
		return err
	}
	// Register before sending: the ack can arrive before PublishMsg
	// returns.
	id, err := p.track(msg, done)
	if err != nil {
		<-p.slots
		return err
	}
	if err := p.b.nc.PublishMsg(msg); err != nil {
		if _, ok := p.untrack(id); ok {
			<-p.slots
		}
		return publishError(msg.Subject, err)
	}
	return nil
}

// acquire takes a pending slot, waiting while MaxPending records are
// unacknowledged, until ctx ends or the bus becomes unreachable.
func (p *publisher) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(stallWait)
	defer t.Stop()
	for {
		select {
		case p.slots <- struct{}{}:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("natsbus: publish: %w", ctx.Err())
		case <-t.C:
			if err := p.b.unavailable(); err != nil {
				return fmt.Errorf("natsbus: publish: %w", err)
			}
			t.Reset(stallWait)
		}
	}
}

// publishError maps an error of PublishMsg to the bus errors.
func publishError(subject string, err error) error {
	switch {
	case errors.Is(err, nats.ErrConnectionClosed):
		return fmt.Errorf("natsbus: publish: %w", bus.ErrClosed)
	case errors.Is(err, nats.ErrReconnectBufExceeded), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected), errors.Is(err, nats.ErrNoServers):
		return fmt.Errorf("natsbus: publish: %w: %w", bus.ErrUnavailable, err)
	case errors.Is(err, nats.ErrMaxPayload):
		return fmt.Errorf("natsbus: publish: %w: %w", bus.ErrTooLarge, err)
	default:
		return fmt.Errorf("natsbus: publish to %s: %w", subject, err)
	}
}

// track gives msg a reply subject in the inbox and registers done for it.
func (p *publisher) track(msg *nats.Msg, done func(error)) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, fmt.Errorf("natsbus: publish: %w", bus.ErrClosed)
	}
	p.nextID++
	id := p.nextID
	msg.Reply = p.inbox + strconv.FormatUint(id, 36)
	if len(p.pending) == 0 {
		p.drained = make(chan struct{})
	}
	p.pending[id] = pendingRecord{msg: msg, done: done, epoch: p.epoch.Load()}
	return id, nil
}

// untrack forgets the record id without calling its done; ok is false when
// it was not pending. The caller releases its slot.
func (p *publisher) untrack(id uint64) (pendingRecord, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.pending[id]
	if !ok {
		return r, false
	}
	delete(p.pending, id)
	if len(p.pending) == 0 {
		close(p.drained)
	}
	return r, true
}

// resolve ends the record id with err (nil: stored): it calls its done
// exactly once and frees its slot.
func (p *publisher) resolve(id uint64, err error) {
	r, ok := p.untrackFailing(id, err)
	if !ok {
		return
	}
	<-p.slots
	r.done(err)
}

// untrackFailing is untrack that also records err, wrapped, as the first
// failure since the last Flush.
func (p *publisher) untrackFailing(id uint64, err error) (pendingRecord, bool) {
	r, ok := p.untrack(id)
	if ok && err != nil {
		p.mu.Lock()
		if p.firstErr == nil {
			p.firstErr = err
		}
		p.mu.Unlock()
	}
	return r, ok
}

// handleAck resolves the record whose acknowledgement m is.
func (p *publisher) handleAck(m *nats.Msg) {
	id, err := strconv.ParseUint(m.Subject[len(p.inbox):], 36, 64)
	if err != nil {
		return
	}
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		p.noResponders(id)
		return
	}
	p.resolveWith(id, ackError(m.Data))
}

// resolveWith resolves id with err wrapped with the record's subject.
func (p *publisher) resolveWith(id uint64, err error) {
	if err != nil {
		p.mu.Lock()
		r, ok := p.pending[id]
		p.mu.Unlock()
		if !ok {
			return
		}
		err = fmt.Errorf("natsbus: publish to %s: %w", r.msg.Subject, err)
	}
	p.resolve(id, err)
}

// errNoStream is the failure of a record no stream took.
var errNoStream = errors.New("no JetStream stream took the record (no responders)")

// noResponders sends the record id again a little later, or fails it when
// it was sent often enough.
func (p *publisher) noResponders(id uint64) {
	p.mu.Lock()
	r, ok := p.pending[id]
	retry := ok && r.retries < noResponderRetries
	if retry {
		r.retries++
		p.pending[id] = r
	}
	p.mu.Unlock()
	switch {
	case !ok:
	case retry:
		time.AfterFunc(noResponderWait, func() {
			p.mu.Lock()
			_, still := p.pending[id]
			p.mu.Unlock()
			if !still {
				return
			}
			if err := p.b.nc.PublishMsg(r.msg); err != nil {
				p.resolveWith(id, err)
			}
		})
	default:
		p.resolveWith(id, errNoStream)
	}
}

// sweep fails the records whose acknowledgement is overdue, every ackSweep,
// until the publisher closes.
func (p *publisher) sweep() {
	t := time.NewTicker(ackSweep)
	defer t.Stop()
	overdue := int64(publishAckTimeout / ackSweep)
	for {
		select {
		case <-t.C:
		case <-p.stop:
			return
		}
		now := p.epoch.Add(1)
		p.failPending(func(r pendingRecord) bool { return now-r.epoch > overdue },
			fmt.Errorf("no publish acknowledgement within %v", publishAckTimeout))
	}
}

// watch fails the pending records when the connection is lost: their
// acknowledgements will not come.
func (p *publisher) watch(status chan nats.Status) {
	for {
		select {
		case s := <-status:
			switch s {
			case nats.CLOSED:
				p.failPending(nil, bus.ErrClosed)
			case nats.RECONNECTING:
				p.failPending(nil, fmt.Errorf("%w: %w", bus.ErrUnavailable, nats.ErrDisconnected))
			}
		case <-p.stop:
			return
		}
	}
}

// failPending fails the pending records that match (all when match is nil)
// with err.
func (p *publisher) failPending(match func(pendingRecord) bool, err error) {
	var ids []uint64
	p.mu.Lock()
	for id, r := range p.pending {
		if match == nil || match(r) {
			ids = append(ids, id)
		}
	}
	p.mu.Unlock()
	for _, id := range ids {
		p.resolveWith(id, err)
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
// publisher's subscription. Records still unacknowledged when ctx ends
// fail (their done gets an error).
func (p *publisher) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	err := p.Flush(ctx)
	p.failPending(nil, bus.ErrClosed)
	close(p.stop)
	p.b.nc.RemoveStatusListener(p.status)
	if uerr := p.sub.Unsubscribe(); uerr != nil && !errors.Is(uerr, nats.ErrConnectionClosed) && err == nil {
		err = fmt.Errorf("natsbus: close publisher: %w", uerr)
	}
	return err
}

// ackError is the error a publish acknowledgement reports, nil for a
// stored record.
func ackError(data []byte) error {
	// A stored record's ack is {"stream":"NAME","seq":N[,...]}; an error
	// comes first when there is one. Anything else is decoded in full.
	if bytes.HasPrefix(data, []byte(`{"stream":"`)) && !bytes.Contains(data, []byte(`"error"`)) {
		return nil
	}
	var ack struct {
		Stream string `json:"stream"`
		Error  *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &ack); err != nil {
		return fmt.Errorf("invalid publish acknowledgement %q: %w", data, err)
	}
	if ack.Error != nil {
		return fmt.Errorf("JetStream refused the record: %s (code %d, error code %d)", ack.Error.Description, ack.Error.Code, ack.Error.ErrCode)
	}
	if ack.Stream == "" {
		return fmt.Errorf("invalid publish acknowledgement %q", data)
	}
	return nil
}
