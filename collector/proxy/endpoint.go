package proxy

import (
	"bytes"
	"io"
	"net/url"
	"strings"
)

// maxPrelude bounds the bytes held while looking for the first event.
const maxPrelude = 64 << 10

// endpointRewriter relays a GET event stream unchanged except for one
// thing: when its first event is the old transport's "endpoint" event and
// holds an absolute URL on the upstream's host, that URL's scheme and host
// become the proxy's, so that the client keeps posting through the proxy.
//
// Until the first event ends, the lines of the event block are held (a
// client cannot act on an unfinished event anyway); comments and blank
// lines outside a block pass at once. After the first event, bytes pass
// through untouched and unbuffered.
type endpointRewriter struct {
	rc   io.ReadCloser
	from *url.URL // the upstream
	to   string   // the proxy's scheme://host

	buf      []byte
	out      []byte // ready for the client
	line     []byte // the current line, with its terminator once complete
	block    []byte // held lines of the current event block
	lastHeld bool   // the last complete line went into block
	endpoint bool   // the block has "event: endpoint"
	hasData  bool   // the block has a data field
	skipLF   bool   // the last line ended with CR
	done     bool   // pass-through from now on
	err      error
}

func newEndpointRewriter(rc io.ReadCloser, upstream, self *url.URL) io.ReadCloser {
	return &endpointRewriter{rc: rc, from: upstream, to: self.Scheme + "://" + self.Host, buf: make([]byte, 32<<10)}
}

// Read returns the rewritten stream.
func (e *endpointRewriter) Read(p []byte) (int, error) {
	for len(e.out) == 0 && !e.done && e.err == nil {
		n, err := e.rc.Read(e.buf)
		e.process(e.buf[:n])
		if err != nil {
			// Release what is held, unchanged.
			e.err = err
			e.out = append(append(e.out, e.block...), e.line...)
			e.block, e.line = nil, nil
		}
	}
	if len(e.out) > 0 {
		n := copy(p, e.out)
		e.out = e.out[n:]
		return n, nil
	}
	if e.err != nil {
		return 0, e.err
	}
	return e.rc.Read(p)
}

// Close closes the upstream body.
func (e *endpointRewriter) Close() error { return e.rc.Close() }

func (e *endpointRewriter) process(b []byte) {
	for i := 0; i < len(b); i++ {
		if e.done {
			e.out = append(e.out, b[i:]...)
			return
		}
		c := b[i]
		if e.skipLF {
			e.skipLF = false
			if c == '\n' { // the rest of a CRLF: goes where its line went
				if e.lastHeld {
					e.block = append(e.block, c)
				} else {
					e.out = append(e.out, c)
				}
				continue
			}
		}
		e.line = append(e.line, c)
		switch {
		case c == '\r':
			e.skipLF = true
			e.endLine()
		case c == '\n':
			e.endLine()
		case len(e.line)+len(e.block) > maxPrelude:
			e.giveUp()
		}
	}
}

// endLine handles a complete line of the prelude.
func (e *endpointRewriter) endLine() {
	line := e.line
	e.line = nil
	content := bytes.TrimRight(line, "\r\n")
	switch {
	case len(content) == 0 && len(e.block) == 0: // blank line outside a block
		e.out, e.lastHeld = append(e.out, line...), false
	case len(content) == 0: // the block ends
		if e.endpoint && e.hasData {
			e.block = e.rewrite(e.block)
		}
		e.out = append(append(e.out, e.block...), line...)
		e.done = e.hasData // an event was dispatched: the prelude is over
		e.block, e.lastHeld, e.endpoint, e.hasData = nil, false, false, false
	case content[0] == ':' && len(e.block) == 0: // a comment outside a block
		e.out, e.lastHeld = append(e.out, line...), false
	default:
		e.block, e.lastHeld = append(e.block, line...), true
		name, value := field(content)
		switch name {
		case "event":
			e.endpoint = value == "endpoint"
		case "data":
			e.hasData = true
		}
		if len(e.block) > maxPrelude {
			e.giveUp()
		}
	}
}

// giveUp releases everything held and stops looking.
func (e *endpointRewriter) giveUp() {
	e.out = append(append(e.out, e.block...), e.line...)
	e.block, e.line, e.done, e.lastHeld = nil, nil, true, false
}

// field splits an SSE line into field name and value.
func field(line []byte) (string, string) {
	name, value, _ := bytes.Cut(line, []byte(":"))
	value, _ = bytes.CutPrefix(value, []byte(" "))
	return string(name), string(value)
}

// rewrite rewrites the data lines of an endpoint event block.
func (e *endpointRewriter) rewrite(block []byte) []byte {
	var out []byte
	for len(block) > 0 {
		end := bytes.IndexAny(block, "\r\n")
		if end < 0 {
			end = len(block)
		}
		term := end
		if term < len(block) && block[term] == '\r' {
			term++
		}
		if term < len(block) && block[term] == '\n' {
			term++
		}
		line, eol := block[:end], block[end:term]
		block = block[term:]
		if name, value := field(line); name == "data" {
			if v, ok := e.rewriteURL(value); ok {
				prefix := line[:len(line)-len(value)]
				out = append(append(append(out, prefix...), v...), eol...)
				continue
			}
		}
		out = append(append(out, line...), eol...)
	}
	return out
}

// rewriteURL moves an absolute URL on the upstream's host to the proxy's,
// keeping the rest of it byte for byte.
func (e *endpointRewriter) rewriteURL(v string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || !u.IsAbs() || !strings.EqualFold(u.Scheme, e.from.Scheme) || !strings.EqualFold(u.Host, e.from.Host) {
		return "", false
	}
	i := strings.Index(v, "://")
	if i < 0 {
		return "", false
	}
	rest := v[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	return e.to + rest[end:], true
}
