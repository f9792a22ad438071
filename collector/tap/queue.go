package tap

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// QueueConfig configures a [Queue]. The zero value of each field means its
// default.
type QueueConfig struct {
	// Len is how many frames may wait for the handlers. Default
	// [DefaultQueueLen].
	Len int
	// Bytes bounds the bytes of frames waiting for (or inside) a handler.
	// Default 2*[DefaultMaxLine]; a tap whose MaxLine is more than half
	// of it cannot use the queue.
	Bytes int64
}

// Queue holds the frames of one or more taps and hands them to the taps'
// handlers one at a time, on the queue's own goroutine, in the order they
// were queued. Taps that share a Queue share that order: for the two
// directions of a session, a frame the relay tapped before forwarding its
// bytes is handled before anything the peer sent in reply.
//
// A Queue never makes a writer wait: when it is full, a frame is dropped
// and counted by the tap that framed it.
type Queue struct {
	maxBytes int64
	queued   atomic.Int64 // bytes of frames queued or inside a handler

	mu      sync.Mutex // guards what follows
	closed  bool
	ring    []item // the waiting frames: n of them from head on
	head, n int

	wake chan struct{} // a token for the goroutine: look at the ring
	done chan struct{}
}

// item is a frame and the tap it came from.
type item struct {
	t *Tap
	l line
}

// NewQueue starts a queue; its goroutine runs until [Queue.Close].
func NewQueue(cfg QueueConfig) (*Queue, error) {
	if cfg.Len < 0 || cfg.Bytes < 0 {
		return nil, fmt.Errorf("tap: negative limit in queue config (Len %d, Bytes %d)", cfg.Len, cfg.Bytes)
	}
	if cfg.Len == 0 {
		cfg.Len = DefaultQueueLen
	}
	if cfg.Bytes == 0 {
		cfg.Bytes = 2 * DefaultMaxLine
	}
	q := &Queue{
		maxBytes: cfg.Bytes,
		ring:     make([]item, cfg.Len),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	go q.run()
	return q, nil
}

// put gives l its place in the queue, or reports that it could not: the
// queue is full or closed. It never blocks and does not wake the
// goroutine: the caller calls signal, once its own work is done, so that
// the handler does not compete for a CPU with forwarding the bytes.
func (q *Queue) put(t *Tap, l line) bool {
	n := int64(len(l.data))
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.n == len(q.ring) {
		return false
	}
	if q.queued.Add(n) > q.maxBytes {
		q.queued.Add(-n)
		return false
	}
	q.ring[(q.head+q.n)%len(q.ring)] = item{t: t, l: l}
	q.n++
	return true
}

// signal wakes the goroutine if it waits; it never blocks.
func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *Queue) run() {
	defer close(q.done)
	for {
		it, ok := q.next()
		if !ok {
			return
		}
		it.t.handle(it.l)
		q.queued.Add(-int64(len(it.l.data)))
	}
}

// next waits for the oldest frame; false means the queue is closed and
// empty.
func (q *Queue) next() (item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n == 0 {
		if q.closed {
			return item{}, false
		}
		q.mu.Unlock()
		<-q.wake
		q.mu.Lock()
	}
	it := q.ring[q.head]
	q.ring[q.head] = item{} // the handler owns the bytes now
	q.head = (q.head + 1) % len(q.ring)
	q.n--
	return it, true
}

// Close stops the queue once the handlers have seen every frame queued
// before it; it waits for that. Close the taps first: a tap still open
// drops what it frames afterwards. Close is safe to call more than once
// and always returns nil.
func (q *Queue) Close() error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
	<-q.done
	return nil
}
