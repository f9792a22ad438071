// Package seqmodel is a model of tool-call transitions: per context (a
// client and the sorted set of servers the session has called so far) it
// counts how often one tool call follows another, with a start symbol for
// a session's first call, and it knows how probable a typical session's
// calls are. It is learnt from history (a capture file or the ClickHouse
// events table), saved as versioned JSON, and used by the detector's chain
// detection to spot improbable transitions and sequences. It knows no tool
// or server by name and does not import the detector.
package seqmodel

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
)

// FormatName and Version identify a saved model.
const (
	FormatName = "mcptrail-seqmodel"
	Version    = 1
)

// Start is the symbol before a session's first call.
const Start = "^"

// GlobalKey is the context of every session.
const GlobalKey = "*"

// DefaultAlpha is the additive smoothing of transition probabilities.
const DefaultAlpha = 0.5

// maxModelBytes bounds what Load reads.
const maxModelBytes = 1 << 30

// Model is a trained transition model. Read it with Context, Transition
// and LogProb; it is safe for concurrent reads.
type Model struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	TrainedAt time.Time `json:"trained_at,omitzero"`
	// Alpha is the additive smoothing of transition probabilities.
	Alpha float64 `json:"alpha"`
	// Sessions and Calls count what the model was trained on.
	Sessions int `json:"sessions"`
	Calls    int `json:"calls"`
	// Contexts maps a context key (Key, ClientKey or GlobalKey) to its counts.
	Contexts map[string]*Context `json:"contexts"`
}

// Context holds the counts of one context.
type Context struct {
	// Sessions counts the sessions that made a call in the context; Calls
	// the calls.
	Sessions int `json:"sessions"`
	Calls    int `json:"calls"`
	// Tools counts calls per tool token (see Token); Servers per server.
	Tools   map[string]int `json:"tools"`
	Servers map[string]int `json:"servers"`
	// Transitions counts, per previous tool token (or Start), the next
	// tool tokens.
	Transitions map[string]map[string]int `json:"transitions"`
	// Score describes the mean log-probability of the calls of the
	// training sessions (left out one at a time) in this context.
	Score *ScoreStats `json:"score,omitzero"`

	totals map[string]int
}

// ScoreStats is the distribution of sessions' mean log-probability.
type ScoreStats struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// Token is the symbol of a tool call: server and tool.
func Token(server, tool string) string { return server + "/" + tool }

// Key is the context key of a client with a set of servers (sorted, no
// duplicates).
func Key(client string, servers []string) string {
	return client + "|" + strings.Join(servers, ",")
}

// ClientKey is the context of every session of a client.
func ClientKey(client string) string { return client + "|*" }

// New returns an empty model.
func New() *Model {
	return &Model{Format: FormatName, Version: Version, Alpha: DefaultAlpha, Contexts: map[string]*Context{}}
}

// Context returns the context of key, or nil.
func (m *Model) Context(key string) *Context {
	if m == nil {
		return nil
	}
	return m.Contexts[key]
}

func (m *Model) context(key string) *Context {
	c := m.Contexts[key]
	if c == nil {
		c = &Context{Tools: map[string]int{}, Servers: map[string]int{}, Transitions: map[string]map[string]int{}, totals: map[string]int{}}
		m.Contexts[key] = c
	}
	return c
}

// Total is how many calls followed prev in the context.
func (c *Context) Total(prev string) int {
	if c == nil {
		return 0
	}
	return c.totals[prev]
}

// Count is how many times next followed prev in the context.
func (c *Context) Count(prev, next string) int {
	if c == nil {
		return 0
	}
	return c.Transitions[prev][next]
}

// Prob is the smoothed probability that next follows prev.
func (c *Context) Prob(prev, next string, alpha float64) float64 {
	v := float64(len(c.Transitions[prev]) + 1)
	return (float64(c.Transitions[prev][next]) + alpha) / (float64(c.totals[prev]) + alpha*v)
}

func (c *Context) add(prev, next string, delta int) {
	t := c.Transitions[prev]
	if t == nil {
		t = map[string]int{}
		c.Transitions[prev] = t
	}
	t[next] += delta
	c.totals[prev] += delta
}

// Keys returns the contexts of a call from most to least specific: the
// client with the servers called so far, the client, and every session.
func Keys(client string, servers []string) [3]string {
	return [3]string{Key(client, servers), ClientKey(client), GlobalKey}
}

// Transition returns the probability that next follows prev in the most
// specific of keys where prev was followed by at least minObs calls, with
// that context; ok is false when no context has seen prev that often.
func (m *Model) Transition(keys []string, prev, next string, minObs int) (p float64, ctx *Context, ok bool) {
	if m == nil {
		return 0, nil, false
	}
	for _, k := range keys {
		c := m.Contexts[k]
		if c != nil && c.totals[prev] >= max(minObs, 1) {
			return c.Prob(prev, next, m.Alpha), c, true
		}
	}
	return 0, nil, false
}

// scoreMinObs is how often prev must have been followed in a context for
// a transition to count in a sequence's score.
const scoreMinObs = 5

// LogProb is the natural log of the probability of next after prev, as a
// sequence's score counts it; ok is false when no context knows prev well
// enough to say.
func (m *Model) LogProb(keys []string, prev, next string) (float64, bool) {
	p, _, ok := m.Transition(keys, prev, next, scoreMinObs)
	if !ok {
		return 0, false
	}
	return math.Log(p), true
}

// Typical returns the score distribution of the most specific of keys
// that has one from at least minSessions sessions.
func (m *Model) Typical(keys []string, minSessions int) *ScoreStats {
	if m == nil {
		return nil
	}
	for _, k := range keys {
		if c := m.Contexts[k]; c != nil && c.Score != nil && c.Score.N >= minSessions {
			return c.Score
		}
	}
	return nil
}

// Save writes the model as JSON.
func (m *Model) Save(w io.Writer) error {
	b, err := json.Marshal(m, json.Deterministic(true))
	if err != nil {
		return fmt.Errorf("seqmodel: encode: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("seqmodel: write: %w", err)
	}
	return nil
}

// SaveFile writes the model to path (through a temporary file renamed
// into place).
func (m *Model) SaveFile(path string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("seqmodel: %w", err)
	}
	if err := m.Save(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("seqmodel: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("seqmodel: %w", err)
	}
	return nil
}

// ErrFormat is wrapped by every error about a model file's content.
var ErrFormat = errors.New("not a valid sequence model")

// Load reads a model that Save wrote.
func Load(r io.Reader) (*Model, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxModelBytes+1))
	if err != nil {
		return nil, fmt.Errorf("seqmodel: read: %w", err)
	}
	if len(b) > maxModelBytes {
		return nil, fmt.Errorf("seqmodel: %w: larger than %d bytes", ErrFormat, maxModelBytes)
	}
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(b, &head, json.RejectUnknownMembers(false)); err != nil {
		return nil, fmt.Errorf("seqmodel: %w: %v", ErrFormat, err)
	}
	switch {
	case head.Format != FormatName:
		return nil, fmt.Errorf("seqmodel: %w: format is %q, want %q", ErrFormat, head.Format, FormatName)
	case head.Version > Version:
		return nil, fmt.Errorf("seqmodel: %w: model version %d is newer than this build reads (%d); retrain or upgrade", ErrFormat, head.Version, Version)
	case head.Version < 1:
		return nil, fmt.Errorf("seqmodel: %w: bad version %d", ErrFormat, head.Version)
	}
	m := new(Model)
	if err := json.Unmarshal(b, m, json.RejectUnknownMembers(false)); err != nil {
		return nil, fmt.Errorf("seqmodel: %w: %v", ErrFormat, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("seqmodel: %w: %v", ErrFormat, err)
	}
	return m, nil
}

// LoadFile reads a model from path.
func LoadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seqmodel: %w", err)
	}
	defer f.Close()
	m, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// check validates a decoded model and derives what is not stored.
func (m *Model) check() error {
	if math.IsNaN(m.Alpha) || m.Alpha <= 0 || m.Alpha > 100 {
		return fmt.Errorf("alpha %v out of range (0, 100]", m.Alpha)
	}
	if m.Sessions < 0 || m.Calls < 0 {
		return errors.New("negative session or call count")
	}
	if m.Contexts == nil {
		m.Contexts = map[string]*Context{}
	}
	keys := make([]string, 0, len(m.Contexts))
	for k := range m.Contexts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c := m.Contexts[k]
		if c == nil {
			return fmt.Errorf("context %q is null", k)
		}
		if c.Sessions < 0 || c.Calls < 0 {
			return fmt.Errorf("context %q: negative count", k)
		}
		if c.Tools == nil {
			c.Tools = map[string]int{}
		}
		if c.Servers == nil {
			c.Servers = map[string]int{}
		}
		if c.Transitions == nil {
			c.Transitions = map[string]map[string]int{}
		}
		for name, n := range c.Tools {
			if n < 0 {
				return fmt.Errorf("context %q: tool %q: negative count", k, name)
			}
		}
		for name, n := range c.Servers {
			if n < 0 {
				return fmt.Errorf("context %q: server %q: negative count", k, name)
			}
		}
		c.totals = make(map[string]int, len(c.Transitions))
		for prev, next := range c.Transitions {
			if prev == "" {
				return fmt.Errorf("context %q: empty previous tool", k)
			}
			total := 0
			for tok, n := range next {
				if n < 0 || tok == "" {
					return fmt.Errorf("context %q: transition %q -> %q: bad count %d", k, prev, tok, n)
				}
				if total += n; total < 0 {
					return fmt.Errorf("context %q: transitions from %q overflow", k, prev)
				}
			}
			c.totals[prev] = total
		}
		if s := c.Score; s != nil {
			if s.N < 0 || math.IsNaN(s.Mean) || math.IsInf(s.Mean, 0) || math.IsNaN(s.Std) || math.IsInf(s.Std, 0) || s.Std < 0 {
				return fmt.Errorf("context %q: bad score statistics", k)
			}
		}
	}
	return nil
}
