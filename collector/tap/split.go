package tap

import "bytes"

// line is a framed line before validation.
type line struct {
	data         []byte
	off, n       int64
	tooLong      bool
	unterminated bool
}

// splitter cuts a byte stream into lines. It is synchronous and
// deterministic: the lines it emits depend only on the bytes, never on how
// they were split across calls.
type splitter struct {
	max  int
	emit func(line)

	off       int64  // stream offset of the next byte
	lineStart int64  // stream offset of the current line
	buf       []byte // current line so far, unless discarding
	// discarding is set once the current line is known to be too long;
	// discarded counts its bytes and lastCR remembers its last byte.
	discarding bool
	discarded  int64
	lastCR     bool
}

// write feeds p; it never keeps p.
func (s *splitter) write(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.add(p)
			s.off += int64(len(p))
			return
		}
		s.add(p[:i])
		s.off += int64(i) + 1
		s.end(false)
		p = p[i+1:]
	}
}

// add appends a piece of the current line.
func (s *splitter) add(b []byte) {
	if s.discarding {
		if len(b) > 0 {
			s.discarded += int64(len(b))
			s.lastCR = b[len(b)-1] == '\r'
		}
		return
	}
	// max+1 leaves room for the CR of a CRLF.
	if len(s.buf)+len(b) > s.max+1 {
		s.discarding = true
		s.discarded = int64(len(s.buf) + len(b))
		switch {
		case len(b) > 0:
			s.lastCR = b[len(b)-1] == '\r'
		default:
			s.lastCR = s.buf[len(s.buf)-1] == '\r'
		}
		s.buf = nil
		return
	}
	s.buf = append(s.buf, b...)
}

// pending reports whether a line has started but not ended.
func (s *splitter) pending() bool { return s.discarding || len(s.buf) > 0 }

// end closes the current line.
func (s *splitter) end(unterminated bool) {
	l := line{off: s.lineStart, unterminated: unterminated}
	if s.discarding {
		l.n = s.discarded
		if s.lastCR {
			l.n--
		}
		l.tooLong = true
	} else {
		d := s.buf
		if n := len(d); n > 0 && d[n-1] == '\r' {
			d = d[:n-1]
		}
		l.n = int64(len(d))
		if len(d) > s.max {
			l.tooLong = true
		} else if !blank(d) {
			l.data = d
		}
	}
	s.buf, s.discarding, s.discarded, s.lastCR = nil, false, 0, false
	s.lineStart = s.off
	if l.tooLong || l.data != nil {
		s.emit(l)
	}
}

// blank reports whether b holds only JSON whitespace.
func blank(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}
