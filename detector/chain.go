package detector

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/mcptrail/mcptrail/detector/seqmodel"
)

// Rule ids of the chain detections.
const (
	RuleChainImprobableTransition = "chain.improbable-transition"
	RuleChainImprobableSequence   = "chain.improbable-sequence"
	RuleChainFirstSeenTool        = "chain.first-seen-tool"
	RuleChainFirstSeenServer      = "chain.first-seen-server"
	RuleChainBurst                = "chain.burst"
)

// ChainOptions tunes the chain detection. The zero value gives the
// defaults.
type ChainOptions struct {
	// MinContext is how many calls must have followed the previous tool in
	// the model's context before a transition is judged (default 30).
	MinContext int
	// MinProb is the smoothed probability below which a transition is
	// improbable (default 0.01).
	MinProb float64
	// MinSessions is how many sessions a context must have been trained on
	// before a tool or server new to it is reported (default 10), and how
	// many scored sessions its typical score needs (default 10 too).
	MinSessions int
	// SequenceSigma is how many standard deviations below the typical mean
	// log-probability a session must score to be improbable (default 3),
	// and SequenceMargin the least distance in nats (default 1).
	SequenceSigma  float64
	SequenceMargin float64
	// BurstCalls calls within BurstWindow are a burst (defaults 30 and 10s).
	BurstCalls  int
	BurstWindow time.Duration
}

// NewChainDetection returns the detection of unusual tool-call chains
// judged by model (which may be nil: then only bursts are reported). Pass
// it in Options.Extra.
func NewChainDetection(model *seqmodel.Model, opts ChainOptions) Detection {
	if opts.MinContext <= 0 {
		opts.MinContext = 30
	}
	if opts.MinProb <= 0 {
		opts.MinProb = 0.01
	}
	if opts.MinSessions <= 0 {
		opts.MinSessions = 10
	}
	if opts.SequenceSigma <= 0 {
		opts.SequenceSigma = 3
	}
	if opts.SequenceMargin <= 0 {
		opts.SequenceMargin = 1
	}
	if opts.BurstCalls <= 1 {
		opts.BurstCalls = 30
	}
	if opts.BurstWindow <= 0 {
		opts.BurstWindow = 10 * time.Second
	}
	return &chain{model: model, opts: opts, sessions: map[string]*chainSession{}}
}

type chain struct {
	model    *seqmodel.Model
	opts     ChainOptions
	sessions map[string]*chainSession
}

// chainSession is a session's path through the model.
type chainSession struct {
	client  string
	servers []string
	keys    [3]string
	prev    string
	prevC   *Call
	sum     float64
	scored  int
	calls   int
	// times is a ring of the latest BurstCalls call times.
	times []time.Time
	next  int
	burst bool
}

func (d *chain) Observe(s *Session, o *Observation, emit Emit) {
	if !o.IsCall() {
		return
	}
	c := o.Call
	cs := d.sessions[s.ID]
	if cs == nil {
		cs = &chainSession{prev: seqmodel.Start}
		d.sessions[s.ID] = cs
	}
	cs.calls++
	d.burst(s, cs, c, emit)
	if d.model == nil || cs.calls > 1000 {
		return
	}
	newServer := false
	if i, found := slices.BinarySearch(cs.servers, c.Server); !found {
		cs.servers = slices.Insert(cs.servers, i, c.Server)
		cs.keys[0] = ""
		newServer = true
	}
	if cs.keys[0] == "" || cs.client != s.Client {
		cs.client = s.Client
		cs.keys = seqmodel.Keys(cs.client, cs.servers)
	}
	tok := seqmodel.Token(c.Server, c.Tool)
	d.firstSeen(s, cs, c, tok, newServer, emit)
	if p, ctx, ok := d.model.Transition(cs.keys[:], cs.prev, tok, d.opts.MinContext); ok &&
		p < d.opts.MinProb && ctx.Tools[tok] > 0 && (cs.prev == seqmodel.Start || ctx.Tools[cs.prev] > 0) &&
		s.once(RuleChainImprobableTransition, cs.prev+"\x00"+tok) {
		emit(s.NewFinding(c.TS, RuleChainImprobableTransition, Low, "A tool call rarely follows the previous one in this context", []*Call{cs.prevC, c}, []Evidence{{
			What: fmt.Sprintf("%s -> %s: probability %.4f after %d observed calls from %s", cs.prev, tok, p, ctx.Total(cs.prev), cs.prev), CallID: c.ID, Tool: c.Tool,
		}}))
	}
	if lp, ok := d.model.LogProb(cs.keys[:], cs.prev, tok); ok {
		cs.sum += lp
		cs.scored++
	}
	cs.prev, cs.prevC = tok, c
}

// firstSeen reports a tool (or server) the model never saw in the
// session's context, when the context is well known.
func (d *chain) firstSeen(s *Session, cs *chainSession, c *Call, tok string, newServer bool, emit Emit) {
	for _, k := range cs.keys[:2] {
		ctx := d.model.Context(k)
		if ctx == nil || ctx.Sessions < d.opts.MinSessions {
			continue
		}
		if newServer && ctx.Servers[c.Server] == 0 && s.once(RuleChainFirstSeenServer, c.Server) {
			emit(s.NewFinding(c.TS, RuleChainFirstSeenServer, Info, "A server this client was never seen using", []*Call{c}, []Evidence{{
				What: fmt.Sprintf("server %q is new to context %q (%d sessions)", c.Server, k, ctx.Sessions), CallID: c.ID, Tool: c.Tool,
			}}))
		}
		if ctx.Tools[tok] == 0 && s.once(RuleChainFirstSeenTool, tok) {
			emit(s.NewFinding(c.TS, RuleChainFirstSeenTool, Info, "A tool never called before in this context", []*Call{c}, []Evidence{{
				What: fmt.Sprintf("%s is new to context %q (%d sessions)", tok, k, ctx.Sessions), CallID: c.ID, Tool: c.Tool,
			}}))
		}
		return
	}
}

// burst reports more than BurstCalls calls within BurstWindow.
func (d *chain) burst(s *Session, cs *chainSession, c *Call, emit Emit) {
	n := d.opts.BurstCalls
	if cs.times == nil {
		cs.times = make([]time.Time, 0, n)
	}
	if len(cs.times) < n {
		cs.times = append(cs.times, c.TS)
		return
	}
	oldest := cs.times[cs.next]
	cs.times[cs.next] = c.TS
	cs.next = (cs.next + 1) % n
	if !cs.burst && c.TS.Sub(oldest) <= d.opts.BurstWindow {
		cs.burst = true
		emit(s.NewFinding(c.TS, RuleChainBurst, Low, "A burst of tool calls", []*Call{c}, []Evidence{{
			What: fmt.Sprintf("%d calls within %s", n+1, c.TS.Sub(oldest).Round(time.Millisecond)), CallID: c.ID, Tool: c.Tool,
		}}))
	}
}

// EndSession judges the session's whole sequence.
func (d *chain) EndSession(s *Session, emit Emit) {
	cs := d.sessions[s.ID]
	delete(d.sessions, s.ID)
	if cs == nil || d.model == nil || cs.scored < seqmodel.MinScoredCalls {
		return
	}
	typ := d.model.Typical(cs.keys[:], d.opts.MinSessions)
	if typ == nil {
		return
	}
	mean := cs.sum / float64(cs.scored)
	limit := typ.Mean - max(d.opts.SequenceSigma*typ.Std, d.opts.SequenceMargin)
	if mean >= limit || math.IsNaN(mean) {
		return
	}
	emit(s.NewFinding(s.Last, RuleChainImprobableSequence, Medium, "The session's sequence of tool calls is improbable for this context", nil, []Evidence{{
		What: fmt.Sprintf("mean log-probability %.2f over %d transitions; typical %.2f ± %.2f (%d sessions)", mean, cs.scored, typ.Mean, typ.Std, typ.N),
	}}))
}
