package detector

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/mcptrail/mcptrail/detector/textscan"
)

// Bounds on one session's state; past them the oldest entries go.
const (
	maxCallsKept   = 256
	maxShingles    = 20_000
	maxValues      = 4_000
	maxPassages    = 64
	maxEmittedKeys = 1_024
)

// Session is the state the engine keeps for one MCP session.
type Session struct {
	ID     string
	Host   string
	Client string
	// First and Last are the times of the first and latest events.
	First, Last time.Time

	// Servers maps a server name to the tools it listed in this session
	// (read only: the map may be shared, see listed).
	Servers map[string]map[string]*Tool
	// sharedLists are the lists whose shared maps are Servers maps, one
	// per server at most (a session talks to a few servers).
	sharedLists []*decodedTools
	// calls are the latest tool calls, oldest first; callCount counts all.
	calls     []*Call
	callCount int
	// pending are the requests waiting for their response (at most
	// maxPending).
	pending smallMap[pendingKey, *Call]

	// shingles maps a text fingerprint of a tool result to the first call
	// whose result held it.
	shingles firstIndex[uint64, shingleKeys]
	// resultValues maps a concrete value seen in a tool result to the first
	// call that returned it; argValues the values the session's calls
	// carried.
	resultValues firstIndex[textscan.Value, valueKeys]
	argValues    map[textscan.Value]bool
	// Passages are the tool results that read as instructions to the model.
	Passages []*Passage

	emitted smallMap[onceKey, struct{}]
	// toolNames caches ToolNames until the next tools/list, toolNamesHash
	// their hash.
	toolNames     []string
	toolNamesHash uint64
}

// Passage is a tool result that scored as instructions aimed at the model,
// with the values and tool names it mentions: what a follow-through would
// carry.
type Passage struct {
	Call      *Call
	Injection *textscan.Injection // shared: read only
	// Values are the concrete values the passage holds that no earlier call
	// of the session carried.
	Values []textscan.Value
	// Tools are the session's tool names the passage mentions.
	Tools []string
}

// pendingKey identifies a request waiting for its response.
type pendingKey struct {
	server, id string
}

// maxPending bounds the requests a session keeps waiting for a response.
const maxPending = 4096

// newSession returns an empty session; its maps are made on first write
// (most sessions are short).
func newSession(id string) *Session {
	return &Session{ID: id}
}

// Calls returns the session's latest tool calls, oldest first (at most a
// few hundred).
func (s *Session) Calls() []*Call { return s.calls }

// CallCount is the number of tool calls the session made.
func (s *Session) CallCount() int { return s.callCount }

// listed adds the tools a server listed to the session. A server's first
// list is used as the list's shared map; a later one copies it first.
func (s *Session) listed(server string, list *decodedTools) {
	s.toolNames = nil
	tools := s.Servers[server]
	if tools == nil {
		if s.Servers == nil {
			s.Servers = map[string]map[string]*Tool{}
		}
		s.Servers[server] = list.toolsByName()
		s.sharedLists = append(s.sharedLists, list)
		return
	}
	if i := s.sharedListOf(server); i >= 0 {
		tools = maps.Clone(tools)
		s.Servers[server] = tools
		s.sharedLists = slices.Delete(s.sharedLists, i, i+1)
	}
	for i := range list.tools {
		tools[list.tools[i].Name] = &list.tools[i]
	}
}

// sharedListOf returns the index in sharedLists of server's list, or -1.
func (s *Session) sharedListOf(server string) int {
	return slices.IndexFunc(s.sharedLists, func(l *decodedTools) bool { return l.server == server })
}

// ToolNames returns the names of every tool the session's servers listed.
func (s *Session) ToolNames() []string {
	if s.toolNames != nil {
		return s.toolNames
	}
	if len(s.Servers) == 1 {
		for server := range s.Servers {
			s.toolNames, s.toolNamesHash = s.serverToolNames(server)
		}
		return s.toolNames
	}
	n := 0
	for _, tools := range s.Servers {
		n += len(tools)
	}
	names := make([]string, 0, n)
	for _, tools := range s.Servers {
		for name := range tools {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	s.toolNames, s.toolNamesHash = names, toolNamesHash(names)
	return names
}

// serverToolNames returns the names of the tools server listed in the
// session, sorted, and their toolNamesHash; shared, read only.
func (s *Session) serverToolNames(server string) ([]string, uint64) {
	if i := s.sharedListOf(server); i >= 0 {
		return s.sharedLists[i].sortedNames()
	}
	names := sortedNames(s.Servers[server])
	return names, toolNamesHash(names)
}

// toolNamesHash identifies a sorted list of tool names.
func toolNamesHash(names []string) uint64 {
	var d xxhash.Digest
	d.Reset()
	for i, name := range names {
		if i > 0 {
			d.WriteString("\x00")
		}
		d.WriteString(name)
	}
	return d.Sum64()
}

// appendCall numbers a new call and appends it to the session's calls.
func (s *Session) appendCall(c *Call) {
	c.Index = s.callCount
	s.callCount++
	if s.calls == nil {
		s.calls = make([]*Call, 0, 8) // most sessions make a few calls
	}
	if len(s.calls) == maxCallsKept {
		copy(s.calls, s.calls[1:])
		s.calls = s.calls[:maxCallsKept-1]
	}
	s.calls = append(s.calls, c)
}

// addCall remembers the values a call's arguments carried, once the
// detections have seen it.
func (s *Session) addCall(c *Call) {
	for _, vs := range c.LeafValues() {
		for _, v := range vs {
			if len(s.argValues) < maxValues {
				if s.argValues == nil {
					s.argValues = map[textscan.Value]bool{}
				}
				s.argValues[v] = true
			}
		}
	}
}

// rememberResult indexes a call's result text so later calls can be traced
// back to it.
func (s *Session) rememberResult(c *Call) {
	for _, t := range c.resultTexts() {
		s.shingles.add(c, t, maxShingles)
		s.resultValues.add(c, t, maxValues)
	}
}

// Carried is what a call's arguments repeat of earlier tool results.
type Carried struct {
	// From is the earlier call whose result the data came from.
	From *Call
	// Shingles counts eight-word runs shared with that result.
	Shingles int
	// Values are the distinctive values shared with it.
	Values []textscan.Value
}

// minCarriedValue is the length from which a value repeated from a result
// counts as carried: numbers and short words are too common to count.
const minCarriedValue = 10

// CarriedFrom returns, per earlier call, the data c's arguments repeat
// from its result: eight-word runs of text and values at least
// minCarriedValue bytes long (numbers never count).
func (s *Session) CarriedFrom(c *Call) []Carried {
	if c.carried != nil {
		return c.carried
	}
	out := []Carried{}
	defer func() { c.carried = out }()
	at := func(from *Call) *Carried {
		for i := range out {
			if out[i].From == from {
				return &out[i]
			}
		}
		out = append(out, Carried{From: from})
		return &out[len(out)-1]
	}
	var seen map[uint64]bool
	for i, t := range c.argTexts() {
		for _, h := range t.Shingles() {
			if from, ok := s.shingles.first(h); ok && from != c && !seen[h] {
				if seen == nil {
					seen = map[uint64]bool{}
				}
				seen[h] = true
				at(from).Shingles++
			}
		}
		for _, v := range c.LeafValues()[i] {
			if len(v.Norm) < minCarriedValue || v.Kind == textscan.ValueNumber {
				continue
			}
			if from, ok := s.resultValues.first(v); ok && from != c {
				cr := at(from)
				if !slices.Contains(cr.Values, v) {
					cr.Values = append(cr.Values, v)
				}
			}
		}
	}
	return out
}

// SeenInArgs reports whether an earlier call of the session carried v.
func (s *Session) SeenInArgs(v textscan.Value) bool { return s.argValues[v] }

// once reports whether key is new for rule in the session, remembering
// it: a detection reports one thing once.
func (s *Session) once(rule, key string) bool {
	k := onceKey{rule, key}
	if _, done := s.emitted.get(k); done {
		return false
	}
	if s.emitted.len() < maxEmittedKeys {
		s.emitted.put(k, struct{}{})
	}
	return true
}

// onceKey is what a detection reported once: a rule and a key of the
// rule's choosing.
type onceKey struct{ rule, key string }

// NewFinding builds a finding of rule on the session about calls.
func (s *Session) NewFinding(ts time.Time, rule string, sev Severity, title string, calls []*Call, ev []Evidence) Finding {
	ids := make([]string, 0, len(calls))
	server := ""
	for _, c := range calls {
		if c == nil {
			continue
		}
		if !slices.Contains(ids, c.ID) {
			ids = append(ids, c.ID)
		}
		server = c.Server
	}
	return Finding{
		ID: FindingID(rule, s.ID, title, ids), TS: ts, Session: s.ID, Rule: rule,
		Severity: sev, Title: title, CallIDs: ids, Evidence: ev,
		Host: s.Host, Client: s.Client, Server: server,
	}
}

// hashString is the hex xxhash64 of s, as evidence hashes are written.
func hashString(s string) string { return strconv.FormatUint(xxhash.Sum64String(s), 16) }
