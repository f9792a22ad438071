package tap

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// got is a frame in a comparable form.
type got struct {
	Data         string
	Offset, Len  int64
	Err          string
	Unterminated bool
}

func (g got) String() string {
	return fmt.Sprintf("{%q off=%d len=%d err=%q unterm=%v}", g.Data, g.Offset, g.Len, g.Err, g.Unterminated)
}

func toGot(f Frame) got {
	g := got{Data: string(f.Data), Offset: f.Offset, Len: f.Len, Unterminated: f.Unterminated}
	if f.Err != nil {
		g.Err = f.Err.Error()
	}
	return g
}

// collect runs in through a fresh tap, written in the given chunk sizes
// (cycled; nil means all at once), and returns the frames.
func collect(t testing.TB, in []byte, maxLine int, chunks []int) []got {
	t.Helper()
	var frames []got
	tp, err := New(Config{
		Handler:    func(f Frame) { frames = append(frames, toGot(f)) },
		MaxLine:    maxLine,
		QueueLen:   len(in) + 1,
		QueueBytes: int64(len(in)) + 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := 0, in; len(p) > 0; i++ {
		n := len(p)
		if len(chunks) > 0 {
			n = min(max(chunks[i%len(chunks)], 1), len(p))
		}
		if w, err := tp.Write(p[:n]); w != n || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", w, err, n)
		}
		p = p[n:]
	}
	tp.Close()
	if d := tp.Dropped(); d != 0 {
		t.Fatalf("Dropped() = %d with a queue as long as the input", d)
	}
	return frames
}

func diffFrames(a, b []got) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d frames vs %d frames:\n%v\n%v", len(a), len(b), a, b)
	}
	for i := range a {
		if a[i] != b[i] {
			return fmt.Sprintf("frame %d: %v vs %v", i, a[i], b[i])
		}
	}
	return ""
}

// reference frames in the simplest way: split the whole input on LF.
func reference(in []byte, maxLine int) []got {
	var out []got
	var off int64
	lines := bytes.SplitAfter(in, []byte("\n"))
	for _, l := range lines {
		start := off
		off += int64(len(l))
		unterminated := !bytes.HasSuffix(l, []byte("\n"))
		l = bytes.TrimSuffix(l, []byte("\n"))
		l = bytes.TrimSuffix(l, []byte("\r"))
		if unterminated && len(l) == 0 {
			continue
		}
		switch {
		case len(l) > maxLine:
			out = append(out, got{Offset: start, Len: int64(len(l)), Unterminated: unterminated,
				Err: fmt.Sprintf("tap: line at offset %d: %d bytes, over the %d byte limit: %v", start, len(l), maxLine, ErrTooLong)})
		case strings.Trim(string(l), " \t\r\n") == "":
		default:
			g := got{Data: string(l), Offset: start, Len: int64(len(l)), Unterminated: unterminated}
			if err := check(l); err != nil {
				g.Err = fmt.Sprintf("tap: line at offset %d: %v", start, err)
			}
			out = append(out, g)
		}
	}
	return out
}
