package processor

import (
	"time"

	"github.com/mcptrail/mcptrail/schemas"
	"github.com/mcptrail/mcptrail/schemas/mcp"
)

// DefaultMaxPending bounds the requests a Pairer waits on.
const DefaultMaxPending = 100_000

// pendingKey identifies a request awaiting its response.
type pendingKey struct {
	session string
	dir     schemas.Direction // of the request
	id      mcp.ID
}

type pendingRequest struct {
	ts       time.Time
	method   mcp.Method
	category mcp.Category
	target   string
}

// Pairer matches responses to the requests they answer, per session and
// direction (a server can send requests too). Its memory is bounded: past
// MaxPending waiting requests, the oldest are forgotten, and their
// responses go unpaired (latency 0). It is not safe for concurrent use;
// a processor keys sessions to one partition, so one Pairer per consumer
// sees all of a session.
type Pairer struct {
	max     int
	pending map[pendingKey]pendingRequest
	order   []pendingKey // insertion order, for eviction; a ring
	head    int
	// Evicted counts requests forgotten unanswered to stay in bounds.
	Evicted int64
}

// NewPairer returns a Pairer that waits on at most maxPending requests
// (0 means DefaultMaxPending).
func NewPairer(maxPending int) *Pairer {
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	return &Pairer{max: maxPending, pending: make(map[pendingKey]pendingRequest)}
}

// Pending is the number of requests waiting for a response.
func (p *Pairer) Pending() int { return len(p.pending) }

// Pair records a request, or completes a response from the request it
// answers: its latency, method, category and target.
func (p *Pairer) Pair(ev *schemas.Event) {
	switch mcp.Kind(ev.Kind) {
	case mcp.KindRequest:
		key := pendingKey{ev.Session, ev.Dir, ev.RPCID}
		if _, dup := p.pending[key]; !dup {
			p.remember(key)
		}
		p.pending[key] = pendingRequest{ts: ev.TS, method: ev.Method, category: ev.Category, target: ev.Target}
	case mcp.KindResult, mcp.KindError:
		key := pendingKey{ev.Session, ev.Dir.Opposite(), ev.RPCID}
		req, ok := p.pending[key]
		if !ok {
			return
		}
		delete(p.pending, key)
		ev.Method, ev.Category, ev.Target = req.method, req.category, req.target
		if d := ev.TS.Sub(req.ts); d > 0 {
			ev.Latency = d
		}
	}
}

// remember adds key to the eviction ring, forgetting the oldest waiting
// request when the ring is full.
func (p *Pairer) remember(key pendingKey) {
	if len(p.order) < p.max {
		p.order = append(p.order, key)
		return
	}
	old := p.order[p.head]
	if _, waiting := p.pending[old]; waiting {
		delete(p.pending, old)
		p.Evicted++
	}
	p.order[p.head] = key
	p.head = (p.head + 1) % p.max
}
