package proxy

import (
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/mcptrail/mcptrail/collector/sse"
)

// teeBody wraps a request body: what the upstream reads is copied (up to
// max bytes) for capture, and the copy is recorded once the body ends or
// is closed. The end is its declared length or EOF, whichever comes
// first, so that the request is recorded before its last bytes are
// returned to the transport.
type teeBody struct {
	rc   io.ReadCloser
	x    *exchange
	max  int64
	want int64 // the declared length, or -1

	mu   sync.Mutex // Read and Close may run on different goroutines
	buf  []byte
	size int64
	over bool
	done bool // recorded
	eof  bool // the client's body returned EOF
}

// Read reads from the client's body and keeps a copy.
func (t *teeBody) Read(p []byte) (int, error) {
	if t.ended() {
		// The transport may read for EOF again after the ReverseProxy
		// closed the client's body (the answer came first): an error here
		// would make it close the upstream connection.
		return 0, io.EOF
	}
	n, err := t.rc.Read(p)
	if t.keep(p[:n], errors.Is(err, io.EOF)) {
		t.finish()
	}
	return n, err
}

// ended reports whether the client's body returned EOF.
func (t *teeBody) ended() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.eof
}

// Close closes the client's body and records what was read.
func (t *teeBody) Close() error {
	err := t.rc.Close()
	t.finish()
	return err
}

// keep copies p, read just before EOF if eof is set, and reports whether
// the body is complete and not yet recorded.
func (t *teeBody) keep(p []byte, eof bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.eof = t.eof || eof
	if t.done {
		return false
	}
	t.size += int64(len(p))
	if t.over || t.size > t.max {
		t.over, t.buf = true, nil
	} else {
		t.buf = append(t.buf, p...)
	}
	return t.eof || t.want > 0 && t.size >= t.want
}

// finish hands the copy to the exchange, once.
func (t *teeBody) finish() {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.done = true
	buf, size, over := t.buf, t.size, t.over
	t.buf = nil
	t.mu.Unlock()
	t.x.requestDone(buf, size, over)
}

// tap receives a copy of the response bytes relayed to the client.
type tap interface {
	write(p []byte)
	end()
}

// captureWriter wraps the client's ResponseWriter: bytes are written and
// flushed to the client first, then a copy goes to the exchange's tap.
type captureWriter struct {
	w       http.ResponseWriter
	x       *exchange
	pending []byte
}

// maxPending bounds the bytes held between flushes.
const maxPending = 1 << 20

// Header returns the client response's header map.
func (c *captureWriter) Header() http.Header { return c.w.Header() }

// WriteHeader sends the status line and headers.
func (c *captureWriter) WriteHeader(code int) { c.w.WriteHeader(code) }

// Write relays p and keeps a copy for the tap until the next flush.
func (c *captureWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if c.x.tap != nil && n > 0 {
		c.pending = append(c.pending, p[:n]...)
		if len(c.pending) >= maxPending {
			c.drain()
		}
	}
	return n, err
}

// FlushError flushes to the client, then hands the copy to the tap.
func (c *captureWriter) FlushError() error {
	err := http.NewResponseController(c.w).Flush()
	c.drain()
	return err
}

// Flush is FlushError for http.Flusher callers.
func (c *captureWriter) Flush() { _ = c.FlushError() }

// Unwrap gives http.ResponseController the client's writer.
func (c *captureWriter) Unwrap() http.ResponseWriter { return c.w }

// drain hands the pending copy to the tap.
func (c *captureWriter) drain() {
	if len(c.pending) > 0 && c.x.tap != nil {
		c.x.tap.write(c.pending)
	}
	c.pending = c.pending[:0]
}

// bufferTap keeps a whole body, up to max bytes, and hands it to end.
type bufferTap struct {
	max  int64
	buf  []byte
	size int64
	over bool
	fn   func(b []byte, size int64, over bool)
}

func (b *bufferTap) write(p []byte) {
	b.size += int64(len(p))
	if b.over || b.size > b.max {
		b.over, b.buf = true, nil
		return
	}
	b.buf = append(b.buf, p...)
}

func (b *bufferTap) end() {
	if b.fn != nil {
		fn := b.fn
		b.fn = nil
		fn(b.buf, b.size, b.over)
	}
}

// sseTap parses an event stream and records its events.
type sseTap struct {
	p *sse.Parser
	x *exchange
}

func newSSETap(x *exchange) tap {
	t := &sseTap{x: x}
	// The parser's options are valid by construction.
	t.p, _ = sse.New(x.onEvent, sse.Options{MaxEvent: int(min(x.p.cfg.MaxBodyBytes, 1<<30))})
	return t
}

func (t *sseTap) write(p []byte) {
	if t.p != nil {
		_, _ = t.p.Write(p)
	}
}

func (t *sseTap) end() {
	if t.p == nil {
		return
	}
	if err := t.p.Close(); err != nil && !errors.Is(err, sse.ErrIncomplete) {
		t.x.p.log.Warn("proxy: event stream ended badly", "path", t.x.path, "err", err)
	}
	t.p = nil
}
