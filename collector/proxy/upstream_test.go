package proxy

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// fakeMCP is an upstream that behaves like a Streamable HTTP MCP server
// and an old HTTP+SSE one, noting what it received and sent.
type fakeMCP struct {
	led       ledger
	needToken bool
	release   chan struct{} // lets a delayed SSE reply go on
	timedOut  chan string   // a delayed reply gave up waiting

	mu      sync.Mutex
	legacy  map[string]chan []byte // old-transport sessions: their streams
	streams int
}

func newFakeMCP() *fakeMCP {
	return &fakeMCP{release: make(chan struct{}), timedOut: make(chan string, 4), legacy: map[string]chan []byte{}}
}

func (f *fakeMCP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/.well-known/oauth-protected-resource/mcp":
		w.Header().Set("Content-Type", "application/json")
		w.Write(f.led.sending([]byte(`{"resource":"http://` + r.Host + `/mcp","authorization_servers":["http://` + r.Host + `"],"scopes_supported":["mcp:read","mcp:write"]}`)))
	case r.URL.Path == "/.well-known/oauth-authorization-server":
		w.Header().Set("Content-Type", "application/json")
		w.Write(f.led.sending([]byte(`{"issuer":"http://` + r.Host + `","authorization_endpoint":"http://` + r.Host + `/authorize","token_endpoint":"http://` + r.Host + `/token","scopes_supported":["mcp:read"]}`)))
	case r.URL.Path == "/sse" && r.Method == http.MethodGet:
		f.legacyStream(w, r)
	case r.URL.Path == "/messages" && r.Method == http.MethodPost:
		f.legacyPost(w, r)
	case r.URL.Path == "/mcp" && r.Method == http.MethodPost:
		f.post(w, r)
	case r.URL.Path == "/mcp" && r.Method == http.MethodGet:
		f.getStream(w, r)
	case r.URL.Path == "/mcp" && r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusOK)
	default:
		http.NotFound(w, r)
	}
}

// wait blocks until the test releases a delayed reply (or gives up).
func (f *fakeMCP) wait(what string) {
	select {
	case <-f.release:
	case <-time.After(5 * time.Second):
		f.timedOut <- what
	}
}

type rpc struct {
	ID     jsontext.Value `json:"id,omitzero"`
	Method string         `json:"method"`
}

func (f *fakeMCP) post(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.led.received(body)
	if f.needToken && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", resource_metadata="http://`+r.Host+`/.well-known/oauth-protected-resource/mcp", scope="mcp:read mcp:write"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write(f.led.sending([]byte(`{"error":"invalid_token"}`)))
		return
	}
	if strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
		var batch []rpc
		if err := json.Unmarshal(body, &batch); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var parts []string
		for _, m := range batch {
			parts = append(parts, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"echo":%q}}`, m.ID, m.Method))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(f.led.sending([]byte("[" + strings.Join(parts, ",") + "]")))
		return
	}
	var m rpc
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, "bad json", 400)
		return
	}
	switch {
	case m.Method == "initialize":
		w.Header().Set("Mcp-Session-Id", "sess-1")
		w.Header().Set("Content-Type", "application/json")
		w.Write(f.led.sending([]byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"fake","version":"9.9.9"}}}`, m.ID))))
	case len(m.ID) == 0: // a notification
		w.WriteHeader(http.StatusAccepted)
	case m.Method == "tools/call": // a streamed reply: progress, then the result
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		ev1 := f.led.sending([]byte("id: 1\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1}}\n\n"))
		w.Write(ev1)
		flush(w)
		f.wait("tools/call")
		ev2 := f.led.sending([]byte(": keep-alive\r\n\r\nid: 2\r\ndata: {\"jsonrpc\":\"2.0\",\r\ndata: \"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"x\"}}\r\n\r\n"))
		w.Write(ev2)
		flush(w)
		time.Sleep(20 * time.Millisecond)
		ev3 := f.led.sending([]byte(fmt.Sprintf("id: 3\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}}\n\n", m.ID)))
		w.Write(ev3)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Write(f.led.sending([]byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{}}`, m.ID))))
	}
}

// getStream is the Streamable HTTP GET stream: a priming event, a
// server notification, then after release a server request.
func (f *fakeMCP) getStream(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Mcp-Session-Id") == "" {
		http.Error(w, "no session", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.Write(f.led.sending([]byte("id: p0\ndata:\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n")))
	flush(w)
	f.wait("get stream")
	w.Write(f.led.sending([]byte("data: {\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"method\":\"roots/list\"}\n\n")))
}

// legacyStream is the old transport's GET /sse: the endpoint event (an
// absolute URL on this host), then the replies to the POSTs.
func (f *fakeMCP) legacyStream(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.streams++
	id := fmt.Sprintf("L%d", f.streams)
	ch := make(chan []byte, 8)
	f.legacy[id] = ch
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(": hello\n\nevent: endpoint\ndata: http://" + r.Host + "/messages?sessionId=" + id + "\n\n"))
	flush(w)
	for {
		select {
		case b, ok := <-ch:
			if !ok {
				return
			}
			w.Write(f.led.sending(b))
			flush(w)
		case <-r.Context().Done():
			return
		}
	}
}

func (f *fakeMCP) legacyPost(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.led.received(body)
	f.mu.Lock()
	ch := f.legacy[r.URL.Query().Get("sessionId")]
	f.mu.Unlock()
	if ch == nil {
		http.Error(w, "unknown session", http.StatusNotFound)
		return
	}
	var m rpc
	_ = json.Unmarshal(body, &m)
	w.WriteHeader(http.StatusAccepted)
	if len(m.ID) > 0 {
		ch <- []byte(fmt.Sprintf("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}\n\n", m.ID))
	}
	if m.Method == "close" {
		close(ch)
	}
}
