package sse

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// DefaultMaxEvent is the default of [Options.MaxEvent].
const DefaultMaxEvent = 64 << 20

// linePad is how far a line may exceed MaxEvent before its bytes are
// dropped: room for the longest field name we keep ("event: ").
const linePad = 16

// Options configure a [Parser]; the zero value means the defaults.
type Options struct {
	// MaxEvent bounds an event's data, type and id, in bytes each.
	// Default 64 MiB.
	MaxEvent int
}

// Handler receives each dispatched event, synchronously from
// [Parser.Write]; it should be quick or hand the event off.
type Handler func(Event)

// Parser is an incremental event stream parser. It is not safe for
// concurrent use.
type Parser struct {
	handler Handler
	max     int

	bomDone bool
	nbom    int // bytes of a leading BOM seen so far

	line     []byte // current line, cut to a prefix once over max+linePad
	lineLen  int64  // real length of the current line
	overflow bool   // line was cut
	skipLF   bool   // last line ended with CR: a next LF belongs to it

	data      []byte // data buffer, each field followed by '\n'
	dataLen   int64  // its length, counted even when oversized
	evType    string
	lastID    string
	retry     time.Duration // reconnection time, for the whole stream
	evRetry   time.Duration // retry set in the current block
	oversized bool
	closed    bool
}

// bom is the UTF-8 byte order mark, ignored once at the stream start.
const bom = "\xEF\xBB\xBF"

// New returns a parser that calls h for every event.
func New(h Handler, opts Options) (*Parser, error) {
	if h == nil {
		return nil, fmt.Errorf("sse: nil handler")
	}
	if opts.MaxEvent < 0 {
		return nil, fmt.Errorf("sse: negative MaxEvent %d", opts.MaxEvent)
	}
	if opts.MaxEvent == 0 {
		opts.MaxEvent = DefaultMaxEvent
	}
	return &Parser{handler: h, max: opts.MaxEvent}, nil
}

// Write parses p. It always returns len(p), nil and keeps no reference to
// p, so a Parser can sit in an io.TeeReader or io.MultiWriter. Bytes
// written after Close are ignored.
func (p *Parser) Write(b []byte) (int, error) {
	n := len(b)
	if p.closed {
		return n, nil
	}
	if !p.bomDone {
		for len(b) > 0 && p.nbom < len(bom) {
			if b[0] != bom[p.nbom] {
				// Not a BOM: what matched so far is stream data.
				p.bomDone = true
				p.feed([]byte(bom[:p.nbom]))
				break
			}
			p.nbom++
			b = b[1:]
		}
		if p.nbom == len(bom) {
			p.bomDone = true
		}
		if !p.bomDone {
			return n, nil
		}
	}
	p.feed(b)
	return n, nil
}

// feed splits b into lines on CRLF, LF or CR.
func (p *Parser) feed(b []byte) {
	start := 0
	nl := bytes.IndexByte(b, '\n')
	for start < len(b) {
		if p.skipLF {
			p.skipLF = false
			if b[start] == '\n' {
				start++
				continue
			}
		}
		if nl >= 0 && nl < start {
			if nl = bytes.IndexByte(b[start:], '\n'); nl >= 0 {
				nl += start
			}
		}
		end := len(b)
		if nl >= 0 {
			end = nl
		}
		i := end
		if cr := bytes.IndexByte(b[start:end], '\r'); cr >= 0 {
			i = start + cr
		} else if nl < 0 {
			p.add(b[start:])
			return
		}
		p.add(b[start:i])
		p.skipLF = b[i] == '\r'
		start = i + 1
		p.endLine()
	}
}

// add appends a piece of the current line.
func (p *Parser) add(b []byte) {
	p.lineLen += int64(len(b))
	if p.overflow {
		return
	}
	if len(p.line)+len(b) > p.max+linePad {
		// Keep a prefix: enough to tell the field name.
		keep := min(linePad-len(p.line), len(b))
		if keep > 0 {
			p.line = append(p.line, b[:keep]...)
		}
		p.line = p.line[:min(len(p.line), linePad)]
		p.overflow = true
		return
	}
	p.line = append(p.line, b...)
}

// endLine interprets the completed line.
func (p *Parser) endLine() {
	line, n, overflow := p.line, p.lineLen, p.overflow
	defer p.resetLine()
	if n == 0 {
		p.dispatch()
		return
	}
	if line[0] == ':' {
		return // comment
	}
	name, value, hasColon := bytes.Cut(line, []byte(":"))
	if !hasColon && overflow {
		return // a field name this long is no field we know
	}
	valueLen := n - int64(len(name))
	if hasColon {
		valueLen--
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
			valueLen--
		}
	}
	tooBig := overflow || valueLen > int64(p.max)
	switch string(name) {
	case "data":
		p.dataLen += valueLen + 1
		if p.oversized || tooBig || p.dataLen-1 > int64(p.max) {
			p.oversized = true
			p.data = p.data[:0]
			return
		}
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
	case "event":
		if tooBig {
			p.oversized = true
			return
		}
		if string(value) != p.evType { // no allocation when unchanged
			p.evType = string(value)
		}
	case "id":
		if tooBig {
			p.oversized = true
			return
		}
		if bytes.IndexByte(value, 0) < 0 && string(value) != p.lastID {
			p.lastID = string(value)
		}
	case "retry":
		if tooBig || len(value) == 0 {
			return
		}
		for _, c := range value {
			if c < '0' || c > '9' {
				return
			}
		}
		ms, err := strconv.ParseInt(string(value), 10, 64)
		if err != nil || ms > int64(1<<63-1)/int64(time.Millisecond) {
			return // too big to be a time.Duration
		}
		p.retry = time.Duration(ms) * time.Millisecond
		p.evRetry = p.retry
	}
}

func (p *Parser) resetLine() {
	if cap(p.line) > 64<<10 {
		p.line = nil // do not pin a huge buffer between long lines
	}
	p.line, p.lineLen, p.overflow = p.line[:0], 0, false
}

// dispatch ends the current block: a blank line was read.
func (p *Parser) dispatch() {
	defer p.resetEvent()
	typ := p.evType
	if typ == "" {
		typ = "message"
	}
	switch {
	case p.oversized:
		p.handler(Event{Type: typ, ID: p.lastID, Retry: p.evRetry, Size: max(p.dataLen-1, 0),
			Err: fmt.Errorf("sse: event of type %q, id %q, %d bytes of data: a field is over the %d byte limit: %w",
				typ, p.lastID, max(p.dataLen-1, 0), p.max, ErrEventTooLarge)})
	case len(p.data) > 0:
		data := bytes.Clone(p.data[:len(p.data)-1])
		if data == nil {
			data = []byte{}
		}
		p.handler(Event{Type: typ, ID: p.lastID, Data: data, Retry: p.evRetry, Size: int64(len(data))})
	}
}

func (p *Parser) resetEvent() {
	if cap(p.data) > 1<<20 {
		p.data = nil
	}
	p.data, p.dataLen, p.evType, p.evRetry, p.oversized = p.data[:0], 0, "", 0, false
}

// Close ends the stream. Per the spec an event not yet ended by a blank
// line is discarded; Close then returns an error wrapping ErrIncomplete.
// Later writes are ignored.
func (p *Parser) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	pending := p.lineLen + p.dataLen
	if !p.bomDone {
		pending += int64(p.nbom)
	}
	if pending > 0 || p.oversized {
		return fmt.Errorf("sse: %d bytes discarded: %w", pending, ErrIncomplete)
	}
	return nil
}

// LastEventID is the stream's last event ID, for a reconnection's
// Last-Event-ID header.
func (p *Parser) LastEventID() string { return p.lastID }

// Retry is the reconnection time the stream last set, or 0.
func (p *Parser) Retry() time.Duration { return p.retry }
