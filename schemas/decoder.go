package schemas

import (
	"bytes"
	"errors"
	"io"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/mcptrail/mcptrail/schemas/mcp"
)

// Decoder decodes capture lines one at a time, such as the messages of a
// bus, keeping its state from one line to the next so that a line costs
// little more than one pass over its bytes. A Reader uses one for every
// line of a file. The zero Decoder is ready to use; it is not safe for
// concurrent use.
//
// A line in the shape collectors write (the known members, strings without
// escapes, an RFC 3339 UTC time) is decoded straight from the tokens of
// jsontext.Decoder, which checks the JSON syntax, UTF-8 and duplicate
// member names as json.Unmarshal does. Any other line, and every bad one,
// is decoded again by json.Unmarshal, so that it gets exactly the record
// or the error json.Unmarshal gives; FuzzDecoder checks that both ways
// agree.
type Decoder struct {
	buf   bytes.Buffer // holds the line; the decoder reads it in place
	dec   *jsontext.Decoder
	lines int // lines decoded; the string cache and peer blocks serve from the second on
	// noWalk reads msg as a JSON value only, for a Reader: its records
	// get a copy of msg, so what a JSON-RPC walk found could not be used.
	noWalk bool

	strings stringCache
	peers   []Peer // handed out one at a time (see peer)

	// What the JSON-RPC walk made of the msg of the line decoded last, if
	// it was decoded directly (see AppendEvents).
	msg   jsontext.Value
	msgs  []mcp.Message
	batch bool
}

// Decode decodes one capture line (without its line break) into rec and
// validates it, as a Reader does for a line of a file. rec is reset first.
// rec.Msg may be a slice of line: the caller must not change line while it
// uses rec. A bad line gives a *LineError for line 1 whose Kind, Field and
// Reason say why, the same words `mcptrail validate` uses.
func (d *Decoder) Decode(line []byte, rec *Record) error {
	_, err := d.decode(1, line, rec)
	return err
}

// decode is Decode for line number lineNo. It reports whether rec.Msg is a
// slice of line, also when the record is invalid.
func (d *Decoder) decode(lineNo int64, line []byte, rec *Record) (aliased bool, err error) {
	if len(bytes.TrimSpace(line)) == 0 {
		return false, &LineError{Line: lineNo, Kind: ErrEmptyLine, Reason: "empty line (every line must hold one JSON object)"}
	}
	*rec = Record{}
	d.msg = nil
	d.lines++
	if d.direct(line, rec) {
		aliased = len(rec.Msg) > 0
		if !d.noWalk {
			d.msg = rec.Msg
		}
	} else {
		*rec = Record{}
		if err := json.Unmarshal(line, rec); err != nil {
			return false, decodeError(lineNo, line, err)
		}
	}
	if err := rec.Validate(); err != nil {
		fe := err.(*FieldError)
		return aliased, &LineError{Line: lineNo, Field: fe.Field, Kind: fe.Kind, Reason: fe.Reason}
	}
	return aliased, nil
}

// direct decodes a line in the collectors' shape into rec, which must be
// zero, and reports whether it did. It gives up, leaving rec partly set,
// on the first member it does not decode exactly as json.Unmarshal would:
// an unknown name, a name or string with escapes, a null, a value of
// another type, a time in another form, and on any error.
func (d *Decoder) direct(line []byte, rec *Record) bool {
	d.buf = *bytes.NewBuffer(line)
	if d.dec == nil {
		d.dec = jsontext.NewDecoder(&d.buf)
	} else {
		d.dec.Reset(&d.buf)
	}
	dec := d.dec
	if dec.PeekKind() != '{' {
		return false
	}
	if _, err := dec.ReadToken(); err != nil {
		return false
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadValue()
		if err != nil {
			return false
		}
		ok := true
		switch string(name) {
		case `"v"`:
			var v uint64
			v, ok = d.uint(dec, strconv.IntSize-1)
			rec.V = int(v)
		case `"ts"`:
			ok = d.time(dec, rec)
		case `"host"`:
			rec.Host, ok = d.string(dec)
		case `"session"`:
			rec.Session, ok = d.string(dec)
		case `"client"`:
			rec.Client = d.peer()
			ok = d.object(dec, func(name jsontext.Value) bool {
				var ok bool
				switch string(name) {
				case `"name"`:
					rec.Client.Name, ok = d.string(dec)
				case `"version"`:
					rec.Client.Version, ok = d.string(dec)
				}
				return ok
			})
		case `"server"`:
			ok = d.object(dec, func(name jsontext.Value) bool {
				var ok bool
				switch string(name) {
				case `"name"`:
					rec.Server.Name, ok = d.string(dec)
				case `"version"`:
					rec.Server.Version, ok = d.string(dec)
				case `"command"`:
					rec.Server.Command, ok = d.string(dec)
				case `"url"`:
					rec.Server.URL, ok = d.string(dec)
				}
				return ok
			})
		case `"transport"`:
			var s string
			s, ok = d.string(dec)
			rec.Transport = Transport(s)
		case `"dir"`:
			var s string
			s, ok = d.string(dec)
			rec.Dir = Direction(s)
		case `"msg"`:
			switch k := dec.PeekKind(); {
			case k != '{' && k != '[':
				ok = false
			case d.noWalk:
				rec.Msg, err = dec.ReadValue()
				ok = err == nil
			default: // read once for the JSON checks and the JSON-RPC walk
				d.msgs, rec.Msg, d.batch, err = mcp.AppendDecode(d.msgs[:0], dec, line)
				ok = err == nil
			}
		case `"stream"`:
			rec.Stream, ok = d.string(dec)
		case `"seq"`:
			rec.Seq, ok = d.uint(dec, 64)
		case `"chain"`:
			rec.Chain, ok = d.string(dec)
		// The members HTTP transports and OAuth events add are decoded by
		// json itself, as within json.Unmarshal.
		case `"http"`:
			ok = json.UnmarshalDecode(dec, &rec.HTTP) == nil
		case `"token"`:
			ok = json.UnmarshalDecode(dec, &rec.Token) == nil
		case `"auth"`:
			ok = json.UnmarshalDecode(dec, &rec.Auth) == nil
		case `"parse_error"`:
			ok = json.UnmarshalDecode(dec, &rec.ParseError) == nil
		case `"redacted"`:
			ok = json.UnmarshalDecode(dec, &rec.Redacted) == nil
		default: // unknown members go to rec.Unknown: json.Unmarshal's job
			ok = false
		}
		if !ok {
			return false
		}
	}
	if dec.PeekKind() != '}' {
		return false
	}
	if _, err := dec.ReadToken(); err != nil {
		return false
	}
	_, err := dec.ReadToken()
	return errors.Is(err, io.EOF) // nothing but white space after the object
}

// AppendEvents is schemas.AppendEvents for a record this Decoder decoded:
// when rec is the last one and its msg was read directly, the events come
// from what that reading found, without walking the message again.
func (d *Decoder) AppendEvents(dst []Event, rec *Record) []Event {
	if len(d.msg) > 0 && len(rec.Msg) == len(d.msg) && &rec.Msg[0] == &d.msg[0] {
		return appendEvents(dst, rec, d.msgs, d.batch, nil)
	}
	return AppendEvents(dst, rec)
}

// peer returns a new Peer. Peers are allocated a block at a time, so that
// a record's client costs no allocation of its own (but for a Decoder used
// once).
func (d *Decoder) peer() *Peer {
	if d.lines < 2 {
		return new(Peer)
	}
	if len(d.peers) == cap(d.peers) {
		d.peers = make([]Peer, 0, peerBlock)
	}
	d.peers = d.peers[:len(d.peers)+1]
	return &d.peers[len(d.peers)-1]
}

// peerBlock is how many Peers are allocated at once.
const peerBlock = 64

// object reads an object whose members member reads, given each name; a
// member it does not know makes it give up.
func (d *Decoder) object(dec *jsontext.Decoder, member func(name jsontext.Value) bool) bool {
	if dec.PeekKind() != '{' {
		return false
	}
	if _, err := dec.ReadToken(); err != nil {
		return false
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadValue()
		if err != nil || !member(name) {
			return false
		}
	}
	if dec.PeekKind() != '}' {
		return false
	}
	_, err := dec.ReadToken()
	return err == nil
}

// string reads a JSON string without escapes.
func (d *Decoder) string(dec *jsontext.Decoder) (string, bool) {
	v, err := dec.ReadValue()
	if err != nil || v.Kind() != '"' || bytes.IndexByte(v, '\\') >= 0 {
		return "", false
	}
	if d.lines < 2 { // a Decoder used once needs no cache
		return string(v[1 : len(v)-1]), true
	}
	return d.strings.get(v[1 : len(v)-1]), true
}

// uint reads a JSON number of decimal digits that fits in bits bits.
func (d *Decoder) uint(dec *jsontext.Decoder, bits int) (uint64, bool) {
	v, err := dec.ReadValue()
	if err != nil || v.Kind() != '0' || v[0] == '-' || bytes.ContainsAny(v, ".eE") {
		return 0, false
	}
	n, err := strconv.ParseUint(string(v), 10, bits)
	return n, err == nil
}

// time reads rec.TS from an RFC 3339 string in UTC ("Z"), with the checks
// json adds to time.Time.UnmarshalText (a two-digit hour, a period before
// the fraction).
func (d *Decoder) time(dec *jsontext.Decoder, rec *Record) bool {
	v, err := dec.ReadValue()
	if err != nil || v.Kind() != '"' || bytes.IndexByte(v, '\\') >= 0 {
		return false
	}
	b := v[1 : len(v)-1]
	const minLen = len("2006-01-02T15:04:05Z")
	if len(b) < minLen || b[len(b)-1] != 'Z' || b[len("2006-01-02T")+1] == ':' || b[len("2006-01-02T15:04:05")] == ',' {
		return false
	}
	return rec.TS.UnmarshalText(b) == nil
}
