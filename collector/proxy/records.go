package proxy

import (
	"fmt"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/mcptrail/mcptrail/schemas"
	"github.com/mcptrail/mcptrail/schemas/mcp"
)

// maxExcerpt is how much of a body that is not JSON a parse error keeps.
const maxExcerpt = 256

// record hands one record of the exchange to the Recorder. It runs with
// x.mu held, so that the exchange's records keep their order. It sets the
// transport (one proxy serves both HTTP transports); the Recorder learns
// the client and server from initialize.
func (x *exchange) record(dir schemas.Direction, fill func(*schemas.Record)) {
	x.p.cfg.Recorder.Emit(x.session, dir, func(rec *schemas.Record) {
		rec.Transport = x.transport
		fill(rec)
	})
}

// facts are the HTTP facts of the exchange seen in direction dir: the
// request's for c2s, the response's for s2c. withStatus adds the status
// to a c2s record made after the response.
func (x *exchange) facts(dir schemas.Direction, withStatus bool) *schemas.HTTPExchange {
	h := &schemas.HTTPExchange{Method: x.method, Path: x.path, RemoteAddr: x.remote}
	if dir == schemas.ClientToServer {
		h.Headers = x.reqHeaders
		if withStatus {
			h.Status = x.status
		}
	} else {
		h.Headers, h.Status = x.respHeaders, x.status
	}
	return h
}

// requestToken is the token of the request for c2s records, else nil.
func (x *exchange) requestToken(dir schemas.Direction) *schemas.Token {
	if dir == schemas.ClientToServer {
		return x.tok
	}
	return nil
}

// recordBody records one body or SSE event holding (we hope) a JSON-RPC
// message or batch; size is its real length, over says it was too big to
// keep.
func (x *exchange) recordBody(dir schemas.Direction, b []byte, size int64, over bool) {
	switch {
	case over:
		x.parseErrorRecord(dir, fmt.Sprintf("body larger than the capture limit of %d bytes", x.p.cfg.MaxBodyBytes), size, nil)
		return
	case size == 0:
		x.parseErrorRecord(dir, "empty body", 0, nil)
		return
	}
	if !jsontext.Value(b).IsValid() {
		x.parseErrorRecord(dir, "not JSON", size, b)
		return
	}
	msgs, _, err := mcp.Parse(b)
	if err != nil {
		x.parseErrorRecord(dir, "not a JSON-RPC message object or batch", size, b)
		return
	}
	if !isJSONRPC(msgs) {
		// JSON of another protocol sharing the host (such as OAuth
		// registration, whose answer holds a client secret): its size
		// only.
		x.parseErrorRecord(dir, "JSON that is not JSON-RPC 2.0", size, nil)
		return
	}
	msg, redacted, err := x.p.cfg.Recorder.Redact("msg", b)
	if err != nil {
		x.p.log.Warn("proxy: cannot redact a message; recording its size only", "path", x.path, "err", err)
		x.parseErrorRecord(dir, "cannot redact", size, nil)
		return
	}
	x.record(dir, func(rec *schemas.Record) {
		rec.Msg, rec.Redacted = msg, redacted
		rec.HTTP = x.facts(dir, false)
		rec.Token = x.requestToken(dir)
	})
}

// isJSONRPC tells whether msgs look like JSON-RPC 2.0 at all (at least one
// message is more than invalid for lack of "jsonrpc":"2.0").
func isJSONRPC(msgs []mcp.Message) bool {
	for i := range msgs {
		if msgs[i].Kind != mcp.KindInvalid || !strings.Contains(msgs[i].Invalid, `"jsonrpc"`) {
			return true
		}
	}
	return false
}

// parseErrorRecord records a body that could not be read as a message:
// why, its size (-1 when unknown) and a short redacted excerpt of b.
func (x *exchange) parseErrorRecord(dir schemas.Direction, reason string, size int64, b []byte) {
	pe := &schemas.ParseError{Reason: reason, Bytes: int(size)}
	var redacted []string
	if len(b) > 0 {
		pe.Excerpt, redacted = x.excerpt(b)
	}
	x.record(dir, func(rec *schemas.Record) {
		rec.ParseError, rec.Redacted = pe, redacted
		rec.HTTP = x.facts(dir, false)
		rec.Token = x.requestToken(dir)
	})
}

// excerpt is the start of b, redacted; "" when it cannot be redacted.
func (x *exchange) excerpt(b []byte) (string, []string) {
	quoted, err := jsontext.AppendQuote(nil, b[:min(len(b), maxExcerpt)])
	if err != nil {
		return "", nil
	}
	out, redacted, err := x.p.cfg.Recorder.Redact("parse_error.excerpt", quoted)
	if err != nil {
		return "", nil
	}
	var s string
	if json.Unmarshal(out, &s) != nil {
		return "", nil
	}
	return s, redacted
}

// httpRecord records the request as HTTP facts with the response status
// (a GET stream opened, a DELETE, a request that is not MCP).
func (x *exchange) httpRecord() {
	x.record(schemas.ClientToServer, func(rec *schemas.Record) {
		rec.HTTP = x.facts(schemas.ClientToServer, true)
		rec.Token = x.tok
	})
}

// responseRecord records the response as HTTP facts (an error without a
// JSON-RPC body).
func (x *exchange) responseRecord() {
	x.record(schemas.ServerToClient, func(rec *schemas.Record) {
		rec.HTTP = x.facts(schemas.ServerToClient, false)
	})
}

// challengeRecord records a 401 answer: its WWW-Authenticate challenge,
// and where the protected resource metadata is (RFC 9728 section 5.1).
func (x *exchange) challengeRecord() {
	c := parseChallenge(x.respHeaders["www-authenticate"])
	x.record(schemas.ServerToClient, func(rec *schemas.Record) {
		rec.HTTP = x.facts(schemas.ServerToClient, false)
		rec.Auth = &schemas.AuthEvent{Type: schemas.AuthMetadata, Endpoint: c.resourceMetadata, Scope: c.scope, Status: x.status}
	})
}

// metadataRecord records an OAuth or OpenID discovery document fetched
// through the proxy.
func (x *exchange) metadataRecord(b []byte, size int64, over bool) {
	var doc struct {
		Resource        string   `json:"resource"`
		ScopesSupported []string `json:"scopes_supported"`
	}
	ok := !over && x.status == 200 && json.Unmarshal(b, &doc, json.RejectUnknownMembers(false)) == nil
	x.emit(func() {
		x.record(schemas.ServerToClient, func(rec *schemas.Record) {
			rec.HTTP = x.facts(schemas.ServerToClient, false)
			ev := &schemas.AuthEvent{Type: schemas.AuthMetadata, Status: x.status, Endpoint: x.p.documentURL(x.path)}
			if ok {
				ev.Resource, ev.Scope = doc.Resource, strings.Join(doc.ScopesSupported, " ")
			}
			rec.Auth = ev
			if !ok && x.status == 200 {
				rec.ParseError = &schemas.ParseError{Reason: "metadata document is not a JSON object or too large", Bytes: int(size)}
			}
		})
	})
}
