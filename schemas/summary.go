package schemas

import (
	"time"

	"github.com/mcptrail/mcptrail/schemas/mcp"
)

// MaxListedErrors is how many line errors a Summary keeps verbatim; it
// counts all of them.
const MaxListedErrors = 20

// Summary accumulates what a capture stream holds: records, distinct
// sessions, hosts, clients, servers and tools, messages by method and kind,
// and bad lines by kind.
type Summary struct {
	Records  int64
	BadLines int64
	// Errors counts bad lines by kind; FirstErrors keeps the first
	// MaxListedErrors of them.
	Errors      map[ErrorKind]int64
	FirstErrors []*LineError
	Messages    int64 // JSON-RPC messages, a batch counting its elements
	Batches     int64
	Methods     map[mcp.Method]int64 // requests and notifications by method
	Kinds       map[mcp.Kind]int64
	HTTPRecords int64 // records with HTTP facts and no message
	AuthEvents  int64
	ParseErrors int64 // lines a collector relayed that were not JSON
	First, Last time.Time
	// ChainProblems counts breaks in the collector streams' hash chains by
	// kind; FirstChainProblems keeps the first MaxListedErrors.
	ChainProblems      map[ChainProblemKind]int64
	FirstChainProblems []ChainProblem
	Streams            int

	sessions map[string]struct{}
	hosts    map[string]struct{}
	clients  map[string]struct{}
	servers  map[string]struct{}
	tools    map[string]struct{} // server + "/" + tool, from calls and listings
	pending  map[pendingKey]mcp.Method
	chains   *ChainChecker
}

type pendingKey struct {
	session string
	dir     Direction // direction of the request
	id      mcp.ID
}

// NewSummary returns an empty Summary.
func NewSummary() *Summary {
	return &Summary{
		Errors:   map[ErrorKind]int64{},
		Methods:  map[mcp.Method]int64{},
		Kinds:    map[mcp.Kind]int64{},
		sessions: map[string]struct{}{},
		hosts:    map[string]struct{}{},
		clients:  map[string]struct{}{},
		servers:  map[string]struct{}{},
		tools:    map[string]struct{}{},
		pending:  map[pendingKey]mcp.Method{},
		chains:   NewChainChecker(),

		ChainProblems: map[ChainProblemKind]int64{},
	}
}

// Sessions is the number of distinct sessions seen.
func (s *Summary) Sessions() int { return len(s.sessions) }

// Hosts is the number of distinct hosts seen.
func (s *Summary) Hosts() int { return len(s.hosts) }

// Clients is the number of distinct client names seen.
func (s *Summary) Clients() int { return len(s.clients) }

// Servers is the number of distinct server names seen.
func (s *Summary) Servers() int { return len(s.servers) }

// Tools is the number of distinct (server, tool) pairs called or listed.
func (s *Summary) Tools() int { return len(s.tools) }

// AddError counts a bad line.
func (s *Summary) AddError(e *LineError) {
	s.BadLines++
	s.Errors[e.Kind]++
	if len(s.FirstErrors) < MaxListedErrors {
		s.FirstErrors = append(s.FirstErrors, e)
	}
}

// Add counts a good record. A msg that does not parse as JSON-RPC is
// counted under mcp.KindInvalid.
func (s *Summary) Add(rec *Record) {
	s.Records++
	if s.First.IsZero() || rec.TS.Before(s.First) {
		s.First = rec.TS
	}
	if rec.TS.After(s.Last) {
		s.Last = rec.TS
	}
	s.sessions[rec.Session] = struct{}{}
	s.hosts[rec.Host] = struct{}{}
	s.servers[rec.Server.Name] = struct{}{}
	if rec.Client != nil && rec.Client.Name != "" {
		s.clients[rec.Client.Name] = struct{}{}
	}
	if rec.Auth != nil {
		s.AuthEvents++
	}
	s.addChain(rec)
	if rec.ParseError != nil {
		s.ParseErrors++
	}
	if len(rec.Msg) == 0 {
		if rec.HTTP != nil {
			s.HTTPRecords++
		}
		return
	}
	msgs, batch, err := mcp.Parse(rec.Msg)
	if err != nil {
		s.Messages++
		s.Kinds[mcp.KindInvalid]++
		return
	}
	if batch {
		s.Batches++
	}
	for i := range msgs {
		s.addMessage(rec, &msgs[i])
	}
}

func (s *Summary) addMessage(rec *Record, m *mcp.Message) {
	s.Messages++
	s.Kinds[m.Kind]++
	switch m.Kind {
	case mcp.KindRequest:
		s.Methods[m.Method]++
		s.pending[pendingKey{rec.Session, rec.Dir, m.ID}] = m.Method
		if m.Method == mcp.ToolsCall {
			if name := m.Target(); name != "" {
				s.tools[rec.Server.Name+"/"+name] = struct{}{}
			}
		}
	case mcp.KindNotification:
		s.Methods[m.Method]++
	case mcp.KindResult, mcp.KindError:
		key := pendingKey{rec.Session, rec.Dir.Opposite(), m.ID}
		method, ok := s.pending[key]
		if !ok {
			return
		}
		delete(s.pending, key)
		if method == mcp.ToolsList && m.Kind == mcp.KindResult {
			for _, name := range mcp.ListedTools(m.Result) {
				s.tools[rec.Server.Name+"/"+name] = struct{}{}
			}
		}
	}
}

// addChain checks the record's place in its collector stream.
func (s *Summary) addChain(rec *Record) {
	problems, err := s.chains.Check(rec)
	if err != nil {
		problems = append(problems, ChainProblem{Kind: ChainEdit, Stream: rec.Stream, Seq: rec.Seq, Detail: err.Error()})
	}
	s.Streams = len(s.chains.streams)
	for _, p := range problems {
		s.ChainProblems[p.Kind]++
		if len(s.FirstChainProblems) < MaxListedErrors {
			s.FirstChainProblems = append(s.FirstChainProblems, p)
		}
	}
}

// ChainBroken reports whether any chain problem other than a duplicate
// delivery was found.
func (s *Summary) ChainBroken() bool {
	for kind, n := range s.ChainProblems {
		if kind != ChainDuplicate && n > 0 {
			return true
		}
	}
	return false
}
