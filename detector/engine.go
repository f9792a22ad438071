package detector

import (
	"fmt"
	"slices"
	"time"

	"github.com/mcptrail/mcptrail/detector/rules"
	"github.com/mcptrail/mcptrail/detector/textscan"
	"github.com/mcptrail/mcptrail/schemas"
	"github.com/mcptrail/mcptrail/schemas/mcp"
)

// Emit receives a finding as the engine makes it.
type Emit func(Finding)

// Detection is one built-in detection. Observe sees every observation of
// every session in order and emits what it concludes; state that spans
// sessions lives in the Detection, bounded. The Observation is valid only
// during the call (the engine reuses it); what it points to stays valid.
type Detection interface {
	Observe(s *Session, o *Observation, emit Emit)
}

// SessionEnder is a Detection that concludes when a session ends (is
// evicted as idle, or the input ends).
type SessionEnder interface {
	EndSession(s *Session, emit Emit)
}

// Options configures an Engine. The zero value is usable: built-in rules,
// no transition model, default bounds.
type Options struct {
	// Rules are the classes, pattern and sequence rules (default:
	// rules.Builtin).
	Rules *rules.Set
	// Detections replace the built-in detections when set (tests).
	Detections []Detection
	// Extra detections run after the built-in ones (e.g. the sequence model).
	Extra []Detection
	// MaxSessions bounds the sessions kept (default 50,000); past it the
	// least recently active go first.
	MaxSessions int
	// IdleAfter evicts a session with no event for this long, by the
	// records' clock (default 30 minutes).
	IdleAfter time.Duration
}

// Engine runs the detections over a stream of capture records. It is not
// safe for concurrent use: run one per consumer, keyed by session.
type Engine struct {
	opts       Options
	rules      *rules.Set
	detections []Detection
	sessions   map[string]*Session
	events     []schemas.Event
	latest     time.Time
	sinceSweep int
	classCache map[classKey]toolClasses
	scoreCache map[scoreKey]*textscan.Injection
	msgs       *messageCache
	obs        Observation // the observation being made, reused
	stats      engineStats
}

// New returns an Engine.
func New(opts Options) (*Engine, error) {
	var compiled *compiledRules
	if opts.Rules == nil {
		c, err := builtinRules()
		if err != nil {
			return nil, err
		}
		opts.Rules, compiled = c.set, c
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 50_000
	}
	if opts.IdleAfter <= 0 {
		opts.IdleAfter = 30 * time.Minute
	}
	e := &Engine{opts: opts, rules: opts.Rules, sessions: map[string]*Session{}, classCache: map[classKey]toolClasses{}, scoreCache: map[scoreKey]*textscan.Injection{}, msgs: newMessageCache()}
	if opts.Detections != nil {
		e.detections = opts.Detections
	} else {
		if compiled == nil {
			compiled = compileRules(opts.Rules)
		}
		e.detections = compiled.detections()
	}
	e.detections = append(e.detections, opts.Extra...)
	return e, nil
}

// Sessions is the number of sessions the engine holds state for.
func (e *Engine) Sessions() int { return len(e.sessions) }

// Observe runs the detections over one record.
func (e *Engine) Observe(rec *schemas.Record, emit Emit) {
	if rec.TS.After(e.latest) {
		e.latest = rec.TS
	}
	s := e.sessions[rec.Session]
	if s == nil {
		if len(e.sessions) >= e.opts.MaxSessions {
			e.evictOldest(emit)
		}
		s = newSession(rec.Session)
		s.First = rec.TS
		e.sessions[rec.Session] = s
	}
	s.Last = rec.TS
	if s.Host == "" {
		s.Host = rec.Host
	}
	if s.Client == "" && rec.Client != nil {
		s.Client = rec.Client.Name
	}
	var msg *parsedMessage
	if len(rec.Msg) > 0 {
		msg = e.msgs.parse(rec.Msg)
		e.events = schemas.AppendParsedEvents(e.events[:0], rec, msg.msgs, msg.batch, msg.err)
	} else {
		e.events = schemas.AppendEvents(e.events[:0], rec)
	}
	for i := range e.events {
		e.observe(s, rec, &e.events[i], msg, i, emit)
	}
	if e.sinceSweep++; e.sinceSweep >= 4096 {
		e.sinceSweep = 0
		e.sweep(emit)
	}
}

// Close ends every session (running the detections that conclude at a
// session's end) and drops all state.
func (e *Engine) Close(emit Emit) {
	ids := make([]string, 0, len(e.sessions))
	for id := range e.sessions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		e.end(e.sessions[id], emit)
	}
}

// observe runs the detections over ev, the event of message i of msg (what
// the engine parsed of rec.Msg; nil when there is none).
func (e *Engine) observe(s *Session, rec *schemas.Record, ev *schemas.Event, msg *parsedMessage, i int, emit Emit) {
	o := &e.obs
	*o = Observation{Event: ev, Record: rec}
	// After the detections: a call's argument values and a result's texts
	// join the session's history.
	var addCall, rememberResult *Call
	switch {
	case ev.Dir == schemas.ClientToServer && ev.Kind == schemas.EventKind(mcp.KindRequest):
		c := &Call{ID: string(ev.RPCID), TS: ev.TS, Server: ev.ServerName, Method: string(ev.Method), Tool: ev.Target}
		if c.Method == "tools/call" {
			c.args = msg.callArgs(e.msgs, i)
			c.Classes = e.classes(s, c.Server, c.Tool)
			s.appendCall(c)
			addCall = c
		}
		if s.pending.len() < maxPending {
			s.pending.put(pendingKey{c.Server, c.ID}, c)
		}
		o.Call = c
	case ev.Dir == schemas.ServerToClient && (ev.Kind == schemas.EventKind(mcp.KindResult) || ev.Kind == schemas.EventKind(mcp.KindError)):
		c, _ := s.pending.take(pendingKey{ev.ServerName, string(ev.RPCID)})
		if c == nil {
			break
		}
		o.Call = c
		c.Answered, c.IsError = true, ev.IsError
		switch c.Method {
		case "tools/call":
			c.result = msg.toolResult(e.msgs, i)
			c.Injection = e.scoreResult(s, c)
			rememberResult = c
		case "tools/list":
			list := msg.toolList(e.msgs, i, ev.ServerName)
			o.Tools, o.toolList = list.tools, list
			s.listed(ev.ServerName, list)
		}
	}
	for _, d := range e.detections {
		d.Observe(s, o, emit)
	}
	if rememberResult != nil {
		for _, t := range rememberResult.resultTexts() {
			t.release()
		}
	}
	if addCall != nil {
		s.addCall(addCall)
	}
	if rememberResult != nil {
		s.rememberResult(rememberResult)
	}
}

// classes returns the classes of a tool, judged from its definition if the
// session saw one, else from its name.
func (e *Engine) classes(s *Session, server, tool string) []string {
	key, desc := classKey{name: tool}, ""
	if t := s.Servers[server][tool]; t != nil {
		key.hash, desc = t.Hash, t.Description
	}
	// The key holds a hash of the description, not the description (long,
	// and slow to hash); the entry's description must still be the same.
	if c, ok := e.classCache[key]; ok && c.description == desc {
		return c.classes
	}
	var out []string
	for _, c := range e.rules.Classes {
		if c.Matches(tool, desc) {
			out = append(out, c.Name)
		}
	}
	if len(e.classCache) >= maxClassCache {
		clear(e.classCache)
	}
	e.classCache[key] = toolClasses{description: desc, classes: out}
	return out
}

// classKey identifies a tool for the class cache: its name and the hash of
// its definition (zero when the session saw none).
type classKey struct {
	name string
	hash uint64
}

// toolClasses are the classes of a tool with a description.
type toolClasses struct {
	description string
	classes     []string
}

// maxClassCache bounds the class cache; when full it starts over.
const maxClassCache = 10_000

func (e *Engine) sweep(emit Emit) {
	cutoff := e.latest.Add(-e.opts.IdleAfter)
	var idle []*Session
	for _, s := range e.sessions {
		if s.Last.Before(cutoff) {
			idle = append(idle, s)
		}
	}
	slices.SortFunc(idle, func(a, b *Session) int { return a.Last.Compare(b.Last) })
	for _, s := range idle {
		e.end(s, emit)
	}
}

func (e *Engine) evictOldest(emit Emit) {
	var oldest *Session
	for _, s := range e.sessions {
		if oldest == nil || s.Last.Before(oldest.Last) {
			oldest = s
		}
	}
	if oldest != nil {
		e.stats.evicted.Add(1)
		e.end(oldest, emit)
	}
}

func (e *Engine) end(s *Session, emit Emit) {
	for _, d := range e.detections {
		if se, ok := d.(SessionEnder); ok {
			se.EndSession(s, emit)
		}
	}
	delete(e.sessions, s.ID)
}

// scoreResult scores a tool result for injected instructions: the leaf
// that scores highest stands for the result (nil when none scores above
// zero; the value is shared: read only). The tool's own name does not
// count as a mention. Scores are memoized by text, tool names and tool,
// and each text is scored once for any tool names: agents read the same
// pages, files and lists again and again, across sessions too.
func (e *Engine) scoreResult(s *Session, c *Call) *textscan.Injection {
	names := s.ToolNames()
	var others []string
	var best *textscan.Injection
	for i, t := range c.resultTexts() {
		key := scoreKey{t, s.toolNamesHash, c.Tool}
		inj, ok := e.scoreCache[key]
		if !ok {
			if others == nil {
				others = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == c.Tool })
			}
			scored := t.scored().With(others)
			inj = &scored
			if len(e.scoreCache) >= maxScoreCache {
				clear(e.scoreCache)
			}
			e.scoreCache[key] = inj
		}
		if inj.Score > 0 && (best == nil || inj.Score > best.Score) {
			best, c.injectionLeaf = inj, i
		}
	}
	return best
}

// scoreKey identifies a memoized score: the text (its leafText, found by
// content), the hash of the session's tool names and the tool.
type scoreKey struct {
	text  *leafText
	names uint64
	tool  string
}

// maxScoreCache bounds the memoized injection scores; when full the cache
// starts over.
const maxScoreCache = 16_384

// String describes the engine's configuration for logs.
func (e *Engine) String() string {
	return fmt.Sprintf("detector: %d detections, %d rules, %d classes", len(e.detections), len(e.rules.Rules), len(e.rules.Classes))
}
