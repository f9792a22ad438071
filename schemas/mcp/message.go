package mcp

import (
	"fmt"

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

// Message is one JSON-RPC 2.0 message of a capture record.
type Message struct {
	Kind   Kind
	ID     ID
	Method Method
	Params jsontext.Value
	Result jsontext.Value
	Error  *RPCError
	// Invalid says why a KindInvalid message breaks the rules.
	Invalid string
}

// Info describes the message's method (for requests and notifications).
func (m *Message) Info() MethodInfo { return Lookup(m.Method) }

type wireMessage struct {
	JSONRPC string         `json:"jsonrpc"`
	ID      jsontext.Value `json:"id"`
	Method  *string        `json:"method"`
	Params  jsontext.Value `json:"params"`
	Result  jsontext.Value `json:"result"`
	Error   jsontext.Value `json:"error"`
}

// Parse splits a raw msg (one message or a batch array) into messages and
// classifies each. A message that breaks the JSON-RPC 2.0 rules comes back
// with KindInvalid and the reason; err is only for input that is not a
// JSON object or array at all.
func Parse(raw []byte) (msgs []Message, batch bool, err error) {
	switch jsontext.Value(raw).Kind() {
	case '{':
		var m Message
		if err := parseOne(raw, &m); err != nil {
			return nil, false, err
		}
		return []Message{m}, false, nil
	case '[':
		var elems []jsontext.Value
		if err := json.Unmarshal(raw, &elems); err != nil {
			return nil, true, fmt.Errorf("parse JSON-RPC batch: %w", err)
		}
		msgs = make([]Message, len(elems))
		for i, e := range elems {
			if e.Kind() != '{' {
				msgs[i] = Message{Kind: KindInvalid, Invalid: fmt.Sprintf("batch element %d is not an object", i)}
				continue
			}
			if err := parseOne(e, &msgs[i]); err != nil {
				return nil, true, err
			}
		}
		return msgs, true, nil
	}
	return nil, false, fmt.Errorf("JSON-RPC message must be an object or a batch array")
}

func parseOne(raw []byte, m *Message) error {
	var w wireMessage
	if err := json.Unmarshal(raw, &w); err != nil {
		return fmt.Errorf("parse JSON-RPC message: %w", err)
	}
	*m = Message{ID: ID(w.ID), Params: w.Params, Result: w.Result}
	if w.Method != nil {
		m.Method = Method(*w.Method)
	}
	m.Kind, m.Invalid = classify(&w)
	if m.Kind == KindError {
		m.Error = new(RPCError)
		if err := json.Unmarshal(w.Error, m.Error); err != nil {
			m.Kind, m.Invalid, m.Error = KindInvalid, "error member is not a JSON-RPC error object", nil
		}
	}
	return nil
}

func classify(w *wireMessage) (Kind, string) {
	if w.JSONRPC != "2.0" {
		return KindInvalid, `member "jsonrpc" must be "2.0"`
	}
	hasID := len(w.ID) > 0 && w.ID.Kind() != 'n'
	if len(w.ID) > 0 && w.ID.Kind() != '"' && w.ID.Kind() != '0' && w.ID.Kind() != 'n' {
		return KindInvalid, "id must be a string or a number"
	}
	if w.Method != nil {
		switch {
		case *w.Method == "":
			return KindInvalid, "method is empty"
		case len(w.Result) > 0 || len(w.Error) > 0:
			return KindInvalid, "a request must not carry result or error"
		case hasID:
			return KindRequest, ""
		case len(w.ID) > 0:
			return KindInvalid, "a request id must not be null"
		}
		return KindNotification, ""
	}
	hasResult, hasError := len(w.Result) > 0, len(w.Error) > 0 && w.Error.Kind() != 'n'
	switch {
	case hasResult && hasError:
		return KindInvalid, "a response must not carry both result and error"
	case !hasResult && !hasError:
		return KindInvalid, "neither a request (no method) nor a response (no result or error)"
	case len(w.ID) == 0:
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
	if m.Kind != KindRequest || len(m.Params) == 0 {
		return ""
	}
	var p struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
	}
	switch m.Method {
	case ToolsCall, PromptsGet:
		if json.Unmarshal(m.Params, &p) == nil {
			return p.Name
		}
	case ResourcesRead, ResourcesSubscribe, ResourcesUnsubscribe:
		if json.Unmarshal(m.Params, &p) == nil {
			return p.URI
		}
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
