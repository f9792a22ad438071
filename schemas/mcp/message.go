package mcp

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Kind is the JSON-RPC 2.0 role of one message.
type Kind string

// Kinds of JSON-RPC 2.0 messages.
const (
	KindRequest      Kind = "request"      // has a method and an id
	KindNotification Kind = "notification" // has a method and no id
	KindResult       Kind = "result"       // answers a request with a result
	KindError        Kind = "error"        // answers a request with an error
	KindInvalid      Kind = "invalid"      // breaks the JSON-RPC 2.0 rules
)

// ID is a JSON-RPC id as its JSON text (`7`, `"abc"`), so that a number and
// a string with the same digits stay different. It is empty when absent.
type ID string

// RPCError is the error member of a JSON-RPC error response.
type RPCError struct {
	Code    int64          `json:"code"`
	Message string         `json:"message"`
	Data    jsontext.Value `json:"data,omitempty"`
}

// Message is one JSON-RPC 2.0 message of a capture record. Params and
// Result are slices of the raw message given to Parse.
type Message struct {
	Kind   Kind
	ID     ID
	Method Method
	Params jsontext.Value
	Result jsontext.Value
	Error  *RPCError
	// ToolError is set for a result whose isError member is true (a tool
	// that failed).
	ToolError bool
	// Invalid says why a KindInvalid message breaks the rules.
	Invalid string

	paramsName, paramsURI string // params.name and params.uri, when strings
	// known describes Method when the specification names it, as found
	// when the message was parsed (shared: read only).
	known *MethodInfo
}

// Info describes the message's method (for requests and notifications).
func (m *Message) Info() MethodInfo {
	if m.known != nil && m.known.Method == m.Method {
		return *m.known
	}
	return Lookup(m.Method)
}

// Parse splits a raw msg (one message or a batch array) into messages and
// classifies each, in one pass over the bytes. A message that breaks the
// JSON-RPC 2.0 rules comes back with KindInvalid and the reason; err is for
// input that is not a JSON object or array of them at all.
func Parse(raw []byte) (msgs []Message, batch bool, err error) {
	return AppendParse(nil, raw)
}

// AppendParse is Parse appending the messages to dst, so that a caller can
// reuse one slice for every message. On error it returns dst unchanged.
func AppendParse(dst []Message, raw []byte) (msgs []Message, batch bool, err error) {
	p := parsers.Get().(*parser)
	defer parsers.Put(p)
	p.buf = *bytes.NewBuffer(raw)
	p.own.Reset(&p.buf)
	p.raw, p.dec = raw, p.own
	msgs, batch, err = p.value(dst)
	if err != nil {
		return dst, batch, err
	}
	if _, err := p.dec.ReadToken(); err != io.EOF {
		if batch {
			return dst, true, fmt.Errorf("parse JSON-RPC batch: data after the batch")
		}
		return dst, false, fmt.Errorf("parse JSON-RPC message: data after the message")
	}
	return msgs, batch, nil
}

// AppendDecode is AppendParse for a message inside a larger JSON text, such
// as the msg member of a capture line: it reads the next value of dec, so
// that the text is read once for both. in is the whole input dec reads
// (its InputOffset indexes in); Params and Result are slices of it, and so
// is value, the message's own text, which is what Parse would be given.
// On error dec is left inside the value and must not be used further.
func AppendDecode(dst []Message, dec *jsontext.Decoder, in []byte) (msgs []Message, value jsontext.Value, batch bool, err error) {
	p := parsers.Get().(*parser)
	defer parsers.Put(p)
	p.raw, p.dec = in, dec
	defer func() { p.raw, p.dec = nil, p.own }() // the pool keeps neither
	start := dec.InputOffset()
	msgs, batch, err = p.value(dst)
	if err != nil {
		return dst, nil, batch, err
	}
	return msgs, trimValue(in[start:dec.InputOffset()]), batch, nil
}

// parser walks a message with a reusable decoder.
type parser struct {
	raw     []byte            // the input dec reads; its offsets index it
	dec     *jsontext.Decoder // own, or the caller's (AppendDecode)
	own     *jsontext.Decoder
	buf     bytes.Buffer // holds raw for own, which reads it in place
	scratch []byte       // unescaped member names
}

var parsers = sync.Pool{New: func() any {
	p := &parser{}
	p.own = jsontext.NewDecoder(&p.buf)
	p.dec = p.own
	return p
}}

// value reads one message or batch, appending its messages to dst.
func (p *parser) value(dst []Message) (msgs []Message, batch bool, err error) {
	msgs = dst
	switch p.dec.PeekKind() {
	case '{':
		msgs = append(msgs, Message{})
		if err := p.message(&msgs[len(msgs)-1]); err != nil {
			return dst, false, err
		}
		return msgs, false, nil
	case '[':
		if _, err := p.dec.ReadToken(); err != nil {
			return dst, true, fmt.Errorf("parse JSON-RPC batch: %w", err)
		}
		for i := 0; p.dec.PeekKind() != ']'; i++ {
			var m Message
			if p.dec.PeekKind() != '{' {
				if err := p.dec.SkipValue(); err != nil {
					return dst, true, fmt.Errorf("parse JSON-RPC batch: %w", err)
				}
				m = Message{Kind: KindInvalid, Invalid: fmt.Sprintf("batch element %d is not an object", i)}
			} else if err := p.message(&m); err != nil {
				return dst, true, err
			}
			msgs = append(msgs, m)
		}
		if _, err := p.dec.ReadToken(); err != nil {
			return dst, true, fmt.Errorf("parse JSON-RPC batch: %w", err)
		}
		return msgs, true, nil
	}
	return dst, false, fmt.Errorf("JSON-RPC message must be an object or a batch array")
}

// envelope is what the walk of one message finds.
type envelope struct {
	jsonrpc, id, method, params, result, errv []byte // raw values
	hasMethod                                 bool
}

// message reads one message object into m.
func (p *parser) message(m *Message) error {
	var e envelope
	if _, err := p.dec.ReadToken(); err != nil {
		return fmt.Errorf("parse JSON-RPC message: %w", err)
	}
	for p.dec.PeekKind() != '}' {
		nameBytes, err := p.name()
		if err != nil {
			return fmt.Errorf("parse JSON-RPC message: %w", err)
		}
		name := member(nameBytes)
		start := p.dec.InputOffset()
		switch name {
		case "params":
			m.paramsName, m.paramsURI, err = p.findStrings("name", "uri")
		case "result":
			m.ToolError, err = p.findTrue("isError")
		default:
			err = p.dec.SkipValue()
		}
		if err != nil {
			return fmt.Errorf("parse JSON-RPC message: member %q: %w", nameBytes, err)
		}
		v := trimValue(p.raw[start:p.dec.InputOffset()])
		switch name {
		case "jsonrpc":
			e.jsonrpc = v
		case "id":
			e.id = v
		case "method":
			e.method, e.hasMethod = v, true
		case "params":
			e.params = v
		case "result":
			e.result = v
		case "error":
			e.errv = v
		}
	}
	if _, err := p.dec.ReadToken(); err != nil {
		return fmt.Errorf("parse JSON-RPC message: %w", err)
	}
	m.ID, m.Params, m.Result = ID(e.id), e.params, e.result
	if e.hasMethod {
		if jsontext.Value(e.method).Kind() == '"' {
			method, known, err := methodOf(e.method)
			if err != nil {
				return fmt.Errorf("parse JSON-RPC message: method: %w", err)
			}
			m.Method, m.known = method, known
		}
	}
	m.Kind, m.Invalid = classify(&e)
	if m.Kind == KindError {
		m.Error = new(RPCError)
		if err := json.Unmarshal(e.errv, m.Error); err != nil {
			m.Kind, m.Invalid, m.Error = KindInvalid, "error member is not a JSON-RPC error object", nil
		}
	}
	if m.Kind != KindResult {
		m.ToolError = false
	}
	return nil
}

// name reads a member name. The bytes are valid until the next call.
func (p *parser) name() ([]byte, error) {
	start := p.dec.InputOffset()
	if _, err := p.dec.ReadValue(); err != nil {
		return nil, err
	}
	b := trimValue(p.raw[start:p.dec.InputOffset()])
	if len(b) >= 2 && bytes.IndexByte(b, '\\') < 0 {
		return b[1 : len(b)-1], nil
	}
	var err error
	p.scratch, err = jsontext.AppendUnquote(p.scratch[:0], b)
	return p.scratch, err
}

// findStrings reads a value; when it is an object, it returns its top-level
// string members named a and b.
func (p *parser) findStrings(a, b string) (va, vb string, err error) {
	if p.dec.PeekKind() != '{' {
		return "", "", p.dec.SkipValue()
	}
	if _, err := p.dec.ReadToken(); err != nil {
		return "", "", err
	}
	for p.dec.PeekKind() != '}' {
		name, err := p.name()
		if err != nil {
			return "", "", err
		}
		if (string(name) == a || string(name) == b) && p.dec.PeekKind() == '"' {
			isA := string(name) == a
			tok, err := p.dec.ReadToken()
			if err != nil {
				return "", "", err
			}
			if isA {
				va = tok.String()
			} else {
				vb = tok.String()
			}
			continue
		}
		if err := p.dec.SkipValue(); err != nil {
			return "", "", err
		}
	}
	_, err = p.dec.ReadToken()
	return va, vb, err
}

// findTrue reads a value; when it is an object, it reports whether its
// top-level member named key is true.
func (p *parser) findTrue(key string) (bool, error) {
	if p.dec.PeekKind() != '{' {
		return false, p.dec.SkipValue()
	}
	if _, err := p.dec.ReadToken(); err != nil {
		return false, err
	}
	found := false
	for p.dec.PeekKind() != '}' {
		name, err := p.name()
		if err != nil {
			return false, err
		}
		if string(name) == key && p.dec.PeekKind() == 't' {
			found = true
		}
		if err := p.dec.SkipValue(); err != nil {
			return false, err
		}
	}
	_, err := p.dec.ReadToken()
	return found, err
}

// member maps the names of the envelope to constants, so that the walk
// allocates nothing for them; any other name maps to "".
func member(name []byte) string {
	switch string(name) {
	case "jsonrpc":
		return "jsonrpc"
	case "id":
		return "id"
	case "method":
		return "method"
	case "params":
		return "params"
	case "result":
		return "result"
	case "error":
		return "error"
	}
	return ""
}

// trimValue drops the separators the decoder's offsets include before a
// value (a colon, a comma, white space).
func trimValue(b []byte) []byte {
	for len(b) > 0 {
		switch b[0] {
		case ':', ',', ' ', '\t', '\r', '\n':
			b = b[1:]
			continue
		}
		break
	}
	return b
}

// methodOf returns the method a JSON string names and, when the
// specification names it, its description; such a method is its constant,
// which costs no allocation.
func methodOf(b []byte) (Method, *MethodInfo, error) {
	if len(b) >= 2 && bytes.IndexByte(b, '\\') < 0 {
		if info := taxonomy[Method(b[1:len(b)-1])]; info != nil {
			return info.Method, info, nil
		}
	}
	s, err := unquote(b)
	return Method(s), taxonomy[Method(s)], err
}

// unquote returns the text of a JSON string, without allocating beyond the
// result when it holds no escapes.
func unquote(b []byte) (string, error) {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		return string(b[1 : len(b)-1]), nil
	}
	s, err := jsontext.AppendUnquote(nil, b)
	return string(s), err
}

func classify(e *envelope) (Kind, string) {
	if string(e.jsonrpc) != `"2.0"` {
		return KindInvalid, `member "jsonrpc" must be "2.0"`
	}
	id := jsontext.Value(e.id)
	hasID := len(id) > 0 && id.Kind() != 'n'
	if len(id) > 0 && id.Kind() != '"' && id.Kind() != '0' && id.Kind() != 'n' {
		return KindInvalid, "id must be a string or a number"
	}
	if e.hasMethod {
		switch {
		case jsontext.Value(e.method).Kind() != '"' || string(e.method) == `""`:
			return KindInvalid, "method is empty or not a string"
		case len(e.result) > 0 || len(e.errv) > 0:
			return KindInvalid, "a request must not carry result or error"
		case hasID:
			return KindRequest, ""
		case len(id) > 0:
			return KindInvalid, "a request id must not be null"
		}
		return KindNotification, ""
	}
	hasResult, hasError := len(e.result) > 0, len(e.errv) > 0 && jsontext.Value(e.errv).Kind() != 'n'
	switch {
	case hasResult && hasError:
		return KindInvalid, "a response must not carry both result and error"
	case !hasResult && !hasError:
		return KindInvalid, "neither a request (no method) nor a response (no result or error)"
	case len(id) == 0:
		return KindInvalid, "a response must carry an id"
	case hasResult:
		return KindResult, ""
	}
	return KindError, ""
}

// Target is what a request acts on: the tool of tools/call, the prompt of
// prompts/get, the URI of resources/read, subscribe and unsubscribe. It is
// empty for other messages or when params do not name one.
func (m *Message) Target() string {
	if m.Kind != KindRequest {
		return ""
	}
	switch m.Method {
	case ToolsCall, PromptsGet:
		return m.paramsName
	case ResourcesRead, ResourcesSubscribe, ResourcesUnsubscribe:
		return m.paramsURI
	}
	return ""
}

// ListedTools returns the tool names of a tools/list result. The caller
// knows from pairing that the result answers tools/list.
func ListedTools(result jsontext.Value) []string {
	var r struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if json.Unmarshal(result, &r) != nil {
		return nil
	}
	names := make([]string, 0, len(r.Tools))
	for _, t := range r.Tools {
		names = append(names, t.Name)
	}
	return names
}
