package proxy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/mcptrail/mcptrail/collector/sse"
	"github.com/mcptrail/mcptrail/collector/token"
	"github.com/mcptrail/mcptrail/schemas"
)

// kind is what an exchange is, as far as capture goes.
type kind int

const (
	kindOther    kind = iota // relayed, recorded as HTTP facts only
	kindMCP                  // JSON-RPC bodies or an SSE stream
	kindMetadata             // an OAuth / OIDC discovery document
)

// maxQueue bounds the records an exchange holds while its session is not
// known yet.
const maxQueue = 4096

// exchange is the capture state of one HTTP request and its response.
type exchange struct {
	p          *Proxy
	kind       kind
	method     string
	path       string
	remote     string
	reqURL     *url.URL // as the client addressed the proxy
	reqHeaders map[string]string
	tok        *schemas.Token
	teeRequest bool
	body       *teeBody

	// Set on the handler goroutine only.
	status      int
	respHeaders map[string]string
	tap         tap
	legacyKey   string

	mu        sync.Mutex // guards what follows and orders the records
	session   string
	transport schemas.Transport
	ready     bool     // session known
	reqOpen   bool     // the request body, to be recorded first, has not ended
	queue     []func() // records waiting for the session or the request
	dropped   int
}

// newExchange classifies r and reads what the request tells.
func (p *Proxy) newExchange(r *http.Request) *exchange {
	x := &exchange{
		p: p, method: r.Method, path: r.URL.Path, remote: r.RemoteAddr,
		reqHeaders: pick(r.Header, "Mcp-Session-Id", "Mcp-Protocol-Version", "Origin"),
		transport:  schemas.TransportStreamableHTTP,
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	x.reqURL = &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	if auth := r.Header.Get("Authorization"); auth != "" {
		x.tok, _ = token.Inspect(p.cfg.SiteKey, auth)
	}
	legacySession, legacyKnown := p.legacy.lookup(endpointKey(r.URL))
	sid := r.Header.Get("Mcp-Session-Id")
	switch {
	case r.Method == http.MethodGet && isMetadataPath(r.URL.Path):
		x.kind = kindMetadata
	case r.Method == http.MethodPost && (legacyKnown || sid != "" || r.Header.Get("Mcp-Protocol-Version") != "" ||
		mediaType(r.Header.Get("Content-Type")) == "application/json"):
		x.kind = kindMCP
		x.teeRequest = true
	case r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/event-stream"):
		x.kind = kindMCP
	case r.Method == http.MethodDelete && sid != "":
		x.kind = kindMCP
	}
	switch {
	case legacyKnown:
		x.session, x.transport, x.ready = legacySession, schemas.TransportSSE, true
	case sid != "":
		x.session, x.ready = sid, true
	case x.kind == kindMCP && r.Method == http.MethodPost && hasSessionQuery(r.URL):
		// A POST to an old-transport endpoint this proxy did not see
		// announced (it restarted): the session is in the query.
		x.session, x.transport, x.ready = sessionFromQuery(r.URL), schemas.TransportSSE, true
	}
	x.reqOpen = x.teeRequest
	return x
}

// fallbackSession is the collector-made session of exchanges outside an
// MCP session: one per client address, keyed so that it does not reveal
// the address.
func (x *exchange) fallbackSession() string {
	m := hmac.New(sha256.New, x.p.salt[:])
	m.Write([]byte(x.remote))
	return "conn-" + hex.EncodeToString(m.Sum(nil)[:8])
}

// emit runs make, which records, now or once the session is known and the
// request recorded, in the order of the calls.
func (x *exchange) emit(make func()) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ready && !x.reqOpen && len(x.queue) == 0 {
		make()
		return
	}
	if len(x.queue) >= maxQueue {
		x.dropped++
		if x.dropped == 1 {
			x.p.log.Warn("proxy: too many records wait for a session; dropping", "path", x.path)
		}
		return
	}
	x.queue = append(x.queue, make)
}

// setSession makes the session known (once) and releases what waited.
func (x *exchange) setSession(session string, transport schemas.Transport) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ready {
		return
	}
	x.session, x.transport, x.ready = session, transport, true
	x.drainLocked()
}

// drainLocked makes the queued records, once the session is known and the
// request body ended.
func (x *exchange) drainLocked() {
	if !x.ready || x.reqOpen {
		return
	}
	q := x.queue
	x.queue = nil
	for _, f := range q {
		f()
	}
}

// requestDone is called once, when the request body ended (or was
// closed), before its last bytes are forwarded. The request is recorded
// then, on the goroutine forwarding it, so that nothing the upstream
// answers, on this exchange or on another (the old transport answers on
// its GET stream), is recorded before it. Records of this exchange that
// came earlier (an answer before the end of the body) follow it.
func (x *exchange) requestDone(body []byte, size int64, over bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	req := func() { x.recordBody(schemas.ClientToServer, body, size, over) }
	x.queue = append([]func(){req}, x.queue...)
	x.reqOpen = false
	x.drainLocked()
}

// onResponse reads the response headers; it runs before the body is
// relayed, on the handler goroutine.
func (x *exchange) onResponse(resp *http.Response) {
	x.status = resp.StatusCode
	x.respHeaders = pick(resp.Header, "Mcp-Session-Id", "WWW-Authenticate")
	ct := mediaType(resp.Header.Get("Content-Type"))
	sse := ct == "text/event-stream"
	if sid := resp.Header.Get("Mcp-Session-Id"); sid != "" {
		x.setSession(sid, schemas.TransportStreamableHTTP)
	} else if !(sse && x.method == http.MethodGet && x.kind == kindMCP) {
		// A GET stream may still name its session in an endpoint event.
		x.setSession(x.fallbackSession(), schemas.TransportStreamableHTTP)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		x.emit(x.challengeRecord)
	}
	switch {
	case x.kind == kindMetadata:
		x.tap = &bufferTap{max: min(x.p.cfg.MaxBodyBytes, maxMetadataBytes), fn: x.metadataRecord}
		return
	case x.kind != kindMCP:
		x.emit(x.httpRecord)
		return
	case x.method != http.MethodPost:
		x.emit(x.httpRecord)
		if x.method == http.MethodDelete && resp.StatusCode < 300 {
			x.emit(func() { x.p.forget(x.session) })
		}
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") && (sse || ct == "application/json") {
		x.emit(func() {
			x.parseErrorRecord(schemas.ServerToClient, "body with content-encoding "+enc+" not captured", -1, nil)
		})
		return
	}
	switch {
	case sse:
		if x.method == http.MethodGet {
			resp.Body = newEndpointRewriter(resp.Body, x.p.upstream, x.reqURL)
		}
		x.tap = newSSETap(x)
	case ct == "application/json":
		x.tap = &bufferTap{max: x.p.cfg.MaxBodyBytes, fn: func(b []byte, size int64, over bool) {
			x.emit(func() { x.recordBody(schemas.ServerToClient, b, size, over) })
		}}
	case resp.StatusCode >= 400 && resp.StatusCode != http.StatusUnauthorized && x.method == http.MethodPost:
		x.emit(x.responseRecord)
	}
}

// onError notes that the proxy answered status itself.
func (x *exchange) onError(status int) {
	x.status = status
	x.setSession(x.fallbackSession(), x.transport)
	x.emit(x.responseRecord)
}

// onEvent records one SSE event of the response.
func (x *exchange) onEvent(ev sse.Event) {
	if ev.Type == "endpoint" && x.method == http.MethodGet {
		x.onEndpoint(string(ev.Data))
		return
	}
	if ev.Err == nil && len(ev.Data) == 0 {
		return // a priming event (id only) or keep-alive
	}
	x.setSession(x.fallbackSession(), x.transport)
	if ev.Err != nil {
		x.emit(func() {
			x.parseErrorRecord(schemas.ServerToClient, "SSE event larger than the capture limit", ev.Size, nil)
		})
		return
	}
	x.emit(func() { x.recordBody(schemas.ServerToClient, ev.Data, int64(len(ev.Data)), false) })
}

// onEndpoint learns an old-transport session from its endpoint event.
func (x *exchange) onEndpoint(data string) {
	u, err := x.reqURL.Parse(strings.TrimSpace(data))
	if err != nil {
		x.p.log.Warn("proxy: endpoint event holds no URL", "path", x.path)
		return
	}
	session := sessionFromQuery(u)
	x.legacyKey = endpointKey(u)
	x.p.legacy.add(x.legacyKey, session)
	x.setSession(session, schemas.TransportSSE)
}

// finish ends the exchange after the response was relayed (or failed).
func (x *exchange) finish(cw *captureWriter) {
	cw.drain()
	if x.tap != nil {
		x.tap.end()
	}
	if x.body != nil {
		x.body.finish()
	} else if x.teeRequest {
		// No body at all (ContentLength 0): still one record for the POST.
		x.requestDone(nil, 0, false)
	}
	x.mu.Lock()
	if !x.ready {
		x.session, x.ready = x.fallbackSession(), true
	}
	x.drainLocked()
	x.mu.Unlock()
	if x.legacyKey != "" {
		x.p.legacy.remove(x.legacyKey)
		x.p.forget(x.session)
	}
}

// forget drops what the recorder knows of a session that ended.
func (p *Proxy) forget(session string) {
	if p.cfg.Recorder != nil {
		p.cfg.Recorder.Forget(session)
	}
}

// pick returns the named headers that are present, with lowercase names.
func pick(h http.Header, names ...string) map[string]string {
	var m map[string]string
	for _, n := range names {
		if v := h.Values(n); len(v) > 0 {
			if m == nil {
				m = make(map[string]string, len(names))
			}
			m[strings.ToLower(n)] = strings.Join(v, ", ")
		}
	}
	return m
}

// mediaType is a Content-Type's lowercase media type without parameters.
func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
		return strings.ToLower(strings.TrimSpace(mt))
	}
	return mt
}
