package proxy

import (
	"net/url"
	"sync"

	"github.com/mcptrail/mcptrail/collector/capture"
)

// endpointTable maps the POST endpoints that old-transport GET streams
// announced (path and query) to their sessions, while the streams last.
type endpointTable struct {
	mu sync.Mutex
	m  map[string]string
}

func (t *endpointTable) init() { t.m = map[string]string{} }

func (t *endpointTable) add(key, session string) {
	t.mu.Lock()
	t.m[key] = session
	t.mu.Unlock()
}

func (t *endpointTable) lookup(key string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.m[key]
	return s, ok
}

func (t *endpointTable) remove(key string) {
	t.mu.Lock()
	delete(t.m, key)
	t.mu.Unlock()
}

// endpointKey identifies an endpoint by path and query.
func endpointKey(u *url.URL) string {
	return u.EscapedPath() + "?" + u.RawQuery
}

// sessionQueryNames are the query parameters MCP SDKs put the session of
// the old transport in.
var sessionQueryNames = [...]string{"sessionId", "session_id"}

func hasSessionQuery(u *url.URL) bool {
	q := u.Query()
	for _, n := range sessionQueryNames {
		if q.Get(n) != "" {
			return true
		}
	}
	return false
}

// sessionFromQuery is the old-transport session named in u's query, or a
// collector-made id.
func sessionFromQuery(u *url.URL) string {
	q := u.Query()
	for _, n := range sessionQueryNames {
		if s := q.Get(n); s != "" {
			return s
		}
	}
	return capture.NewID()
}
