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

// Handler receives frames in stream order, one at a time, on the
// goroutine of the tap's [Queue]. The handlers of taps sharing a queue are
// called one at a time too, in the order the frames were queued. A slow
// handler makes the taps drop frames, never slows the relay.
type Handler func(Frame)

// Config configures a [Tap]. The zero value of each field means its
// default.
type Config struct {
	// Handler receives the frames. Required.
	Handler Handler
	// MaxLine is the longest line, in bytes without its terminator, that
	// is kept; longer lines are reported with ErrTooLong. Default 64 MiB.
	MaxLine int
	// Queue is where the frames wait for the handler. Give taps one
	// Queue to have their frames handled in the one order they were
	// queued in (both directions of a session). nil means a queue of the
	// tap's own, sized by QueueLen and QueueBytes, that Close stops.
	Queue *Queue
	// QueueLen is how many frames may wait in the tap's own queue.
	// Default 1024. Must be 0 with a shared Queue.
	QueueLen int
	// QueueBytes bounds the bytes of frames waiting for (or inside) the
	// handler in the tap's own queue. Default and minimum: 2*MaxLine.
	// Must be 0 with a shared Queue.
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
	handler Handler
	maxLine int
	queue   *Queue
	ownQ    bool // queue is the tap's own: Close stops it

	mu     sync.Mutex // guards split and closed, and orders the puts
	split  splitter
	closed bool

	inQueue sync.WaitGroup // frames queued and not yet handled

	bytes, droppedBytes atomic.Int64
	frames, dropped     atomic.Uint64
}

// New returns a tap. With no [Config.Queue] it starts a queue of its own,
// whose goroutine runs until [Tap.Close].
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
	t := &Tap{handler: cfg.Handler, maxLine: cfg.MaxLine, queue: cfg.Queue}
	if t.queue != nil {
		if cfg.QueueLen != 0 || cfg.QueueBytes != 0 {
			return nil, fmt.Errorf("tap: QueueLen %d and QueueBytes %d size a tap's own queue, not a shared one",
				cfg.QueueLen, cfg.QueueBytes)
		}
		if floor := 2 * int64(cfg.MaxLine); t.queue.maxBytes < floor {
			return nil, fmt.Errorf("tap: the shared queue holds %d bytes, less than two lines of MaxLine %d",
				t.queue.maxBytes, cfg.MaxLine)
		}
	} else {
		q, err := NewQueue(QueueConfig{Len: cfg.QueueLen, Bytes: max(cfg.QueueBytes, 2*int64(cfg.MaxLine))})
		if err != nil {
			return nil, err
		}
		t.queue, t.ownQ = q, true
	}
	t.split = splitter{max: cfg.MaxLine, emit: t.enqueue}
	return t, nil
}

// Write taps p. It always returns len(p), nil, keeps no reference to p,
// and never waits for the handler. The lines p completes are queued before
// Write returns. Bytes written after Close are ignored.
func (t *Tap) Write(p []byte) (int, error) {
	t.frame(p)
	t.queue.signal()
	return len(p), nil
}

// frame queues the lines p completes without waking the queue's goroutine;
// the caller signals the queue.
func (t *Tap) frame(p []byte) {
	t.bytes.Add(int64(len(p)))
	t.mu.Lock()
	if !t.closed {
		t.split.write(p)
	}
	t.mu.Unlock()
}

// enqueue hands l to the queue or drops it; t.mu is held.
func (t *Tap) enqueue(l line) {
	t.inQueue.Add(1)
	if !t.queue.put(t, l) {
		t.inQueue.Done()
		t.dropped.Add(1)
		t.droppedBytes.Add(l.n)
		return
	}
	t.frames.Add(1)
}

// handle validates l and calls the handler; it runs on the queue's
// goroutine.
func (t *Tap) handle(l line) {
	defer t.inQueue.Done()
	f := Frame{Data: l.data, Offset: l.off, Len: l.n, Unterminated: l.unterminated}
	if l.tooLong {
		f.Err = fmt.Errorf("tap: line at offset %d: %d bytes, over the %d byte limit: %w", l.off, l.n, t.maxLine, ErrTooLong)
	} else if err := check(l.data); err != nil {
		f.Err = fmt.Errorf("tap: line at offset %d: %w", l.off, err)
	}
	t.handler(f)
}

// Close ends the stream: a last line without a newline becomes a frame
// marked Unterminated. Close then waits until the handler has seen every
// frame of this tap, and stops the tap's own queue (a shared one goes on).
// It is safe to call more than once and always returns nil.
func (t *Tap) Close() error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		if t.split.pending() {
			t.split.end(true)
		}
	}
	t.mu.Unlock()
	t.queue.signal()
	if t.ownQ {
		_ = t.queue.Close()
	}
	t.inQueue.Wait()
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
