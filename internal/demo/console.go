package demo

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// console is the demo's terminal: its own lines and its children's, each
// prefixed with where it comes from ("[demo]", "[process]", ...), written
// one whole line at a time so that concurrent writers do not interleave.
type console struct {
	mu sync.Mutex
	w  io.Writer
}

func newConsole(w io.Writer) *console { return &console{w: w} }

// line writes one line under prefix.
func (c *console) line(prefix, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.w, "[%s] %s\n", prefix, text)
}

// printf writes one of the demo's own lines.
func (c *console) printf(format string, args ...any) {
	c.line("demo", fmt.Sprintf(format, args...))
}

// block writes text as it is (the summary).
func (c *console) block(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.w, text)
}

// lineWriter is an io.Writer that hands each complete line to fn; a
// child's stdout or stderr is written to one. flush hands over what is
// left after the last newline.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(string)
}

// maxLine bounds a buffered line; longer ones are cut.
const maxLine = 64 << 10

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.fn(strings.TrimRight(string(l.buf[:i]), "\r"))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > maxLine {
		l.fn(string(l.buf[:maxLine]) + "…")
		l.buf = l.buf[:0]
	}
	return len(p), nil
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.fn(string(l.buf))
		l.buf = nil
	}
}

// terse drops the time= field that slog's text handler puts first: the
// terminal shows lines as they come, so it adds nothing there (the log
// files keep it).
func terse(line string) string {
	if rest, ok := strings.CutPrefix(line, "time="); ok {
		if i := strings.IndexByte(rest, ' '); i >= 0 {
			return rest[i+1:]
		}
	}
	return line
}
