package schemas

import (
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/mcptrail/mcptrail/schemas/mcp"
)

// EventKind is the kind of a stored audit event: a JSON-RPC kind, or
// EventHTTP and EventAuth for records that carry no message.
type EventKind string

// Event kinds beyond the JSON-RPC ones (mcp.KindRequest and friends).
const (
	EventHTTP       EventKind = "http"
	EventAuth       EventKind = "auth"
	EventParseError EventKind = "parse_error"
)

// Event is the stored audit event: one row per MCP message (a batch gives
// one per element), or one per HTTP-only or OAuth record. The fields that
// come straight from the record are filled by NewEvents; the processor adds
// the event id, the pairing of responses to requests (latency) and the
// chain check.
type Event struct {
	// ID is the event id, xxhash64 over the fields that identify the
	// message, stable across replays (set by the processor).
	ID uint64
	TS time.Time

	Host          string
	Session       string
	ClientName    string
	ClientVersion string
	ServerName    string
	ServerVersion string
	ServerCommand string
	ServerURL     string
	Transport     Transport
	Dir           Direction

	Kind       EventKind
	Method     mcp.Method   // for requests and notifications
	Category   mcp.Category // of Method
	RPCID      mcp.ID
	BatchIndex int    // position in a batch, or -1
	Target     string // tool, prompt or resource URI a request acts on

	Params       jsontext.Value // request or notification params, after redaction
	Result       jsontext.Value // response result, after redaction
	IsError      bool           // an error response, or a tool result with isError
	ErrorCode    int64
	ErrorMessage string
	Invalid      string // why the message breaks JSON-RPC 2.0, if it does

	// Latency is the time from the request to this response (set by the
	// processor's pairing; zero otherwise).
	Latency  time.Duration
	MsgBytes int // size of the message's JSON text

	HTTPMethod string
	HTTPPath   string
	HTTPStatus int
	Token      *Token
	Auth       *AuthEvent
	Redacted   []string
}

// NewEvents normalizes a record into its audit events. A msg that is not a
// JSON-RPC object or batch still gives one event, of kind invalid. The
// events' Params and Result are slices of rec.Msg.
func NewEvents(rec *Record) []Event { return AppendEvents(nil, rec) }

// AppendEvents is NewEvents appending to dst, so that a caller can reuse
// one slice for every record.
func AppendEvents(dst []Event, rec *Record) []Event {
	if len(rec.Msg) == 0 {
		return appendEvents(dst, rec, nil, false, nil)
	}
	var one [1]mcp.Message // a message that is not a batch needs no allocation
	msgs, batch, err := mcp.AppendParse(one[:0], rec.Msg)
	return appendEvents(dst, rec, msgs, batch, err)
}

// AppendParsedEvents is AppendEvents given what mcp.AppendParse made of
// rec.Msg (its messages, batch flag and error), for a caller that parsed
// rec.Msg already, or parsed equal bytes and kept the result: the message
// is not walked again. The events' Params and Result are those of msgs.
// A rec without msg gives its one event whatever msgs holds.
func AppendParsedEvents(dst []Event, rec *Record, msgs []mcp.Message, batch bool, parseErr error) []Event {
	if len(rec.Msg) == 0 {
		return appendEvents(dst, rec, nil, false, nil)
	}
	return appendEvents(dst, rec, msgs, batch, parseErr)
}

// appendEvents is AppendEvents given what mcp.Parse made of rec.Msg.
func appendEvents(dst []Event, rec *Record, msgs []mcp.Message, batch bool, parseErr error) []Event {
	base := Event{
		TS: rec.TS, Host: rec.Host, Session: rec.Session,
		ServerName: rec.Server.Name, ServerVersion: rec.Server.Version,
		ServerCommand: rec.Server.Command, ServerURL: rec.Server.URL,
		Transport: rec.Transport, Dir: rec.Dir, BatchIndex: -1,
		Token: rec.Token, Auth: rec.Auth, Redacted: rec.Redacted,
	}
	if rec.Client != nil {
		base.ClientName, base.ClientVersion = rec.Client.Name, rec.Client.Version
	}
	if rec.HTTP != nil {
		base.HTTPMethod, base.HTTPPath, base.HTTPStatus = rec.HTTP.Method, rec.HTTP.Path, rec.HTTP.Status
	}
	if len(rec.Msg) == 0 {
		switch {
		case rec.ParseError != nil:
			base.Kind, base.Invalid, base.MsgBytes = EventParseError, rec.ParseError.Reason, rec.ParseError.Bytes
		case rec.Auth != nil:
			base.Kind = EventAuth
		default:
			base.Kind = EventHTTP
		}
		return append(dst, base)
	}
	if parseErr != nil {
		base.Kind, base.Invalid, base.MsgBytes = EventKind(mcp.KindInvalid), parseErr.Error(), len(rec.Msg)
		return append(dst, base)
	}
	var elems []jsontext.Value
	if batch {
		elems = batchElements(rec.Msg)
	}
	for i := range msgs {
		// The event is made in place: an Event is large to copy twice.
		dst = append(dst, base)
		ev, m := &dst[len(dst)-1], &msgs[i]
		ev.Kind, ev.RPCID, ev.Invalid = EventKind(m.Kind), m.ID, m.Invalid
		ev.MsgBytes = len(rec.Msg)
		if batch {
			ev.BatchIndex, ev.MsgBytes = i, len(elems[i])
		}
		if m.Method != "" {
			ev.Method, ev.Category = m.Method, m.Info().Category
		}
		ev.Target = m.Target()
		ev.Params, ev.Result = m.Params, m.Result
		if m.Error != nil {
			ev.IsError, ev.ErrorCode, ev.ErrorMessage = true, m.Error.Code, m.Error.Message
		} else {
			ev.IsError = m.ToolError
		}
	}
	return dst
}

// batchElements splits a batch that mcp.Parse accepted into its elements.
func batchElements(msg jsontext.Value) []jsontext.Value {
	var elems []jsontext.Value
	_ = json.Unmarshal(msg, &elems) // Parse succeeded, so this does too
	return elems
}
