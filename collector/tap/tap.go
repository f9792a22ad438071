package tap

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Defaults for [Config].
const (
	DefaultMaxLine  = 64 << 20
	DefaultQueueLen = 1024
)

// Handler receives frames in stream order, one at a time, on the tap's
// own goroutine. A slow handler makes the tap drop frames, never slows the
// relay.
type Handler func(Frame)

// Config configures a [Tap]. The zero value of each field means its
// default.
type Config struct {
	// Handler receives the frames. Required.
	Handler Handler
	// MaxLine is the longest line, in bytes without its terminator, that
	// is kept; longer lines are reported with ErrTooLong. Default 64 MiB.
	MaxLine int
	// QueueLen is how many frames may wait for the handler. Default 1024.
	QueueLen int
	// QueueBytes bounds the bytes of frames waiting for (or inside) the
	// handler. Default and minimum: 2*MaxLine.
	QueueBytes int64
}

// Stats are a tap's counters.
type Stats struct {
	Bytes        int64  // bytes written to the tap
	Frames       uint64 // frames queued for the handler
	Dropped      uint64 // frames dropped because the queue was full
	DroppedBytes int64  // line bytes of the dropped frames
}

// Tap splits the bytes written to it into frames for a [Handler]. Write it
// from the relay (or use [Relay]); call Close when the stream ends. Write
// and Close may be called from different goroutines.
type Tap struct {
	handler    Handler
	queueBytes int64

	mu     sync.Mutex // guards split, closed and sends on queue
	split  splitter
	closed bool

	queue  chan line
	done   chan struct{}
	queued atomic.Int64 // bytes in queue or in the handler

	bytes, droppedBytes atomic.Int64
	frames, dropped     atomic.Uint64
}

// New starts a tap; its goroutine runs until [Tap.Close].
func New(cfg Config) (*Tap, error) {
	if cfg.Handler == nil {
		return nil, errors.New("tap: config has no handler")
	}
	if cfg.MaxLine < 0 || cfg.QueueLen < 0 || cfg.QueueBytes < 0 {
		return nil, fmt.Errorf("tap: negative limit in config (MaxLine %d, QueueLen %d, QueueBytes %d)",
			cfg.MaxLine, cfg.QueueLen, cfg.QueueBytes)
	}
	if cfg.MaxLine == 0 {
		cfg.MaxLine = DefaultMaxLine
	}
	if cfg.QueueLen == 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	if floor := 2 * int64(cfg.MaxLine); cfg.QueueBytes < floor {
		cfg.QueueBytes = floor
	}
	t := &Tap{
		handler:    cfg.Handler,
		queueBytes: cfg.QueueBytes,
		queue:      make(chan line, cfg.QueueLen),
		done:       make(chan struct{}),
	}
	t.split = splitter{max: cfg.MaxLine, emit: t.enqueue}
	go t.run(cfg.MaxLine)
	return t, nil
}

// Write taps p. It always returns len(p), nil, keeps no reference to p,
// and never waits for the handler. Bytes written after Close are ignored.
func (t *Tap) Write(p []byte) (int, error) {
	t.bytes.Add(int64(len(p)))
	t.mu.Lock()
	if !t.closed {
		t.split.write(p)
	}
	t.mu.Unlock()
	return len(p), nil
}

// enqueue hands l to the handler goroutine or drops it; t.mu is held.
func (t *Tap) enqueue(l line) {
	n := int64(len(l.data))
	if t.queued.Add(n) > t.queueBytes {
		t.queued.Add(-n)
		t.drop(l)
		return
	}
	select {
	case t.queue <- l:
		t.frames.Add(1)
	default:
		t.queued.Add(-n)
		t.drop(l)
	}
}

func (t *Tap) drop(l line) {
	t.dropped.Add(1)
	t.droppedBytes.Add(l.n)
}

func (t *Tap) run(maxLine int) {
	defer close(t.done)
	for l := range t.queue {
		f := Frame{Data: l.data, Offset: l.off, Len: l.n, Unterminated: l.unterminated}
		if l.tooLong {
			f.Err = fmt.Errorf("tap: line at offset %d: %d bytes, over the %d byte limit: %w", l.off, l.n, maxLine, ErrTooLong)
		} else if err := check(l.data); err != nil {
			f.Err = fmt.Errorf("tap: line at offset %d: %w", l.off, err)
		}
		t.handler(f)
		t.queued.Add(-int64(len(l.data)))
	}
}

// Close ends the stream: a last line without a newline becomes a frame
// marked Unterminated. Close then waits until the handler has seen every
// queued frame. It is safe to call more than once and always returns nil.
func (t *Tap) Close() error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		if t.split.pending() {
			t.split.end(true)
		}
		close(t.queue)
	}
	t.mu.Unlock()
	<-t.done
	return nil
}

// Dropped is the number of frames dropped because the handler fell behind.
func (t *Tap) Dropped() uint64 { return t.dropped.Load() }

// Stats returns the tap's counters.
func (t *Tap) Stats() Stats {
	return Stats{
		Bytes:        t.bytes.Load(),
		Frames:       t.frames.Load(),
		Dropped:      t.dropped.Load(),
		DroppedBytes: t.droppedBytes.Load(),
	}
}
