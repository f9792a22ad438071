package tap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// relayBufSize is the read size of Relay: large enough for throughput,
// and Relay never waits for it to fill.
const relayBufSize = 64 << 10

// Relay copies src to dst until EOF, feeding every byte read from src to t
// (nil for none) before writing it to dst: the lines a chunk completes are
// queued for capture before the peer can see them, so nothing the peer
// answers is queued ahead of them (on a [Queue] both directions share),
// and they are captured even when the write fails. Each read is written at
// once, and dst is flushed after each write if it has a Flush method
// (bufio.Writer, http.Flusher), so an interactive message is never held
// back waiting for more bytes.
//
// Relay returns the number of bytes written to dst; EOF is not an error.
// It does not close t. A Read blocked in src only ends on ctx's
// cancellation if src has SetReadDeadline (os.File pipes, net.Conn), which
// Relay then sets to the past; otherwise close src to stop Relay.
func Relay(ctx context.Context, dst io.Writer, src io.Reader, t *Tap) (int64, error) {
	if d, ok := src.(interface{ SetReadDeadline(time.Time) error }); ok {
		stop := context.AfterFunc(ctx, func() { _ = d.SetReadDeadline(time.Now()) })
		defer stop()
	}
	flush := flusher(dst)
	buf := make([]byte, relayBufSize)
	var written int64
	for {
		if err := ctx.Err(); err != nil {
			return written, fmt.Errorf("tap: relay stopped: %w", err)
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			if t != nil {
				// Queued first: an answer to these bytes is queued after
				// them, and what src said is recorded even when dst has
				// gone. The queue's goroutine is woken once the bytes are
				// on their way, not competing for a CPU with the peer.
				t.frame(buf[:n])
			}
			nw, werr := dst.Write(buf[:n])
			if t != nil {
				t.queue.signal()
			}
			if nw < 0 || nw > n {
				nw, werr = 0, fmt.Errorf("invalid count %d from Write", nw)
			}
			written += int64(nw)
			if werr == nil && nw < n {
				werr = io.ErrShortWrite
			}
			if werr == nil {
				werr = flush()
			}
			if werr != nil {
				return written, fmt.Errorf("tap: relay write after %d bytes: %w", written, werr)
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return written, nil
			}
			if err := ctx.Err(); err != nil {
				return written, fmt.Errorf("tap: relay stopped: %w", err)
			}
			return written, fmt.Errorf("tap: relay read after %d bytes: %w", written, rerr)
		}
	}
}

// flusher returns a function flushing w, or one doing nothing.
func flusher(w io.Writer) func() error {
	switch f := w.(type) {
	case interface{ Flush() error }:
		return f.Flush
	case interface{ Flush() }:
		return func() error { f.Flush(); return nil }
	}
	return func() error { return nil }
}
