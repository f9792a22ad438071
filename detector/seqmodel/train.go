package seqmodel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/mcptrail/mcptrail/schemas"
)

// TrainOptions bounds a training run. The zero value is usable.
type TrainOptions struct {
	// Alpha is the smoothing (default DefaultAlpha).
	Alpha float64
	// Sample is how many sessions are kept to learn what a typical
	// session's score is (default 5,000).
	Sample int
	// MaxOpen bounds the sessions a capture file may have open at once
	// (default 100,000); past it the oldest is closed.
	MaxOpen int
	// MaxCalls bounds the calls of one session that are learnt (default 1,000).
	MaxCalls int
}

// TrainStats counts what a training run read.
type TrainStats struct {
	Records  int
	BadLines int
	Sessions int
	Calls    int
}

// step is one call of a sequence: the context it was made in and its
// token.
type step struct {
	key, client string
	server, tok string
}

type openSession struct {
	id      string
	client  string
	servers []string
	key     string
	prev    string
	steps   []step
	calls   int
	seq     uint64
}

// Trainer learns a model from calls given in order per session.
type Trainer struct {
	m       *Model
	opts    TrainOptions
	open    map[string]*openSession
	seq     uint64
	sample  [][]step
	seen    int
	rng     *rand.Rand
	stats   TrainStats
	lastID  string
	lastSes *openSession
}

// NewTrainer returns an empty Trainer.
func NewTrainer(opts TrainOptions) *Trainer {
	if opts.Alpha <= 0 {
		opts.Alpha = DefaultAlpha
	}
	if opts.Sample <= 0 {
		opts.Sample = 5_000
	}
	if opts.MaxOpen <= 0 {
		opts.MaxOpen = 100_000
	}
	if opts.MaxCalls <= 0 {
		opts.MaxCalls = 1_000
	}
	m := New()
	m.Alpha = opts.Alpha
	return &Trainer{m: m, opts: opts, open: map[string]*openSession{}, rng: rand.New(rand.NewPCG(1, 2))}
}

// AddCall learns one tools/call of session (calls of a session must come
// in time order). client may be empty until the session's client is known.
func (t *Trainer) AddCall(session, client, server, tool string) {
	s := t.session(session)
	if s.client == "" {
		s.client = client
	}
	if s.calls >= t.opts.MaxCalls {
		return
	}
	s.calls++
	if i, found := slices.BinarySearch(s.servers, server); !found {
		s.servers = slices.Insert(s.servers, i, server)
		s.key = ""
	}
	if s.key == "" {
		s.key = Key(s.client, s.servers)
	}
	tok := Token(server, tool)
	st := step{key: s.key, client: s.client, server: server, tok: tok}
	t.learn(s, st)
	s.steps = append(s.steps, st)
	t.stats.Calls++
}

func (t *Trainer) session(id string) *openSession {
	if id == t.lastID && t.lastSes != nil {
		return t.lastSes
	}
	s := t.open[id]
	if s == nil {
		if len(t.open) >= t.opts.MaxOpen {
			t.closeOldest()
		}
		t.seq++
		s = &openSession{id: id, prev: Start, seq: t.seq}
		t.open[id] = s
	}
	t.lastID, t.lastSes = id, s
	return s
}

// learn counts one step in its three contexts.
func (t *Trainer) learn(s *openSession, st step) {
	first := s.prev == Start
	for _, k := range [3]string{st.key, ClientKey(st.client), GlobalKey} {
		c := t.m.context(k)
		c.Calls++
		c.Tools[st.tok]++
		c.Servers[st.server]++
		c.add(s.prev, st.tok, 1)
		if first || k == st.key && !slices.ContainsFunc(s.steps, func(p step) bool { return p.key == k }) {
			c.Sessions++
		}
	}
	s.prev = st.tok
}

// EndSession closes a session: its later calls would start a new sequence.
func (t *Trainer) EndSession(id string) {
	s := t.open[id]
	if s == nil {
		return
	}
	delete(t.open, id)
	if t.lastID == id {
		t.lastID, t.lastSes = "", nil
	}
	t.finish(s)
}

func (t *Trainer) closeOldest() {
	var oldest *openSession
	for _, s := range t.open {
		if oldest == nil || s.seq < oldest.seq {
			oldest = s
		}
	}
	if oldest != nil {
		t.EndSession(oldest.id)
	}
}

func (t *Trainer) finish(s *openSession) {
	if len(s.steps) == 0 {
		return
	}
	t.stats.Sessions++
	t.m.Sessions++
	// Reservoir sampling keeps a uniform sample of sequences.
	t.seen++
	if len(t.sample) < t.opts.Sample {
		t.sample = append(t.sample, s.steps)
	} else if j := t.rng.IntN(t.seen); j < t.opts.Sample {
		t.sample[j] = s.steps
	}
}

// AddRecord learns the tools/call requests of a capture record.
func (t *Trainer) AddRecord(rec *schemas.Record) {
	t.stats.Records++
	if rec.Dir != schemas.ClientToServer || len(rec.Msg) == 0 {
		return
	}
	client := ""
	if rec.Client != nil {
		client = rec.Client.Name
	}
	for _, ev := range schemas.NewEvents(rec) {
		if ev.Method == "tools/call" && ev.Kind == "request" && ev.Target != "" {
			t.AddCall(rec.Session, client, ev.ServerName, ev.Target)
		}
	}
}

// Model ends every open session, learns the typical session score and
// returns the model. The Trainer must not be used afterwards.
func (t *Trainer) Model() *Model {
	ids := make([]string, 0, len(t.open))
	for id := range t.open {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(t.open[a].seq, t.open[b].seq) })
	for _, id := range ids {
		t.EndSession(id)
	}
	t.m.Calls = t.stats.Calls
	t.calibrate()
	t.m.TrainedAt = time.Now().UTC().Truncate(time.Second)
	return t.m
}

// Stats returns what the Trainer has read so far.
func (t *Trainer) Stats() TrainStats { return t.stats }

// calibrate scores each sampled session against the model without its
// own calls (leave one out), and keeps per context the mean and standard
// deviation of the scores.
func (t *Trainer) calibrate() {
	type acc struct{ n, sum, sq float64 }
	accs := map[string]*acc{}
	for _, steps := range t.sample {
		t.apply(steps, -1)
		mean, n := Score(t.m, steps2calls(steps))
		t.apply(steps, +1)
		if n < MinScoredCalls {
			continue
		}
		last := steps[len(steps)-1]
		for _, k := range [3]string{last.key, ClientKey(last.client), GlobalKey} {
			a := accs[k]
			if a == nil {
				a = &acc{}
				accs[k] = a
			}
			a.n++
			a.sum += mean
			a.sq += mean * mean
		}
	}
	for k, a := range accs {
		mu := a.sum / a.n
		v := max(a.sq/a.n-mu*mu, 0)
		t.m.Contexts[k].Score = &ScoreStats{N: int(a.n), Mean: mu, Std: math.Sqrt(v)}
	}
}

// apply adds (delta +1) or removes (-1) a sequence's transitions.
func (t *Trainer) apply(steps []step, delta int) {
	prev := Start
	for _, st := range steps {
		for _, k := range [3]string{st.key, ClientKey(st.client), GlobalKey} {
			t.m.Contexts[k].add(prev, st.tok, delta)
		}
		prev = st.tok
	}
}

// Call is one call of a sequence to score: its context keys and token.
type Call struct {
	Keys  [3]string
	Token string
}

func steps2calls(steps []step) []Call {
	out := make([]Call, len(steps))
	for i, st := range steps {
		out[i] = Call{Keys: [3]string{st.key, ClientKey(st.client), GlobalKey}, Token: st.tok}
	}
	return out
}

// MinScoredCalls is how many of a session's transitions must be scorable
// for its mean log-probability to mean anything.
const MinScoredCalls = 3

// Score returns the mean log-probability of a session's calls and how
// many transitions counted.
func Score(m *Model, calls []Call) (mean float64, n int) {
	prev := Start
	sum := 0.0
	for _, c := range calls {
		if lp, ok := m.LogProb(c.Keys[:], prev, c.Token); ok {
			sum += lp
			n++
		}
		prev = c.Token
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// TrainCapture learns a model from a capture file. Lines that are not
// valid records are counted and skipped; a read error ends the run.
func TrainCapture(ctx context.Context, r io.Reader, opts TrainOptions) (*Model, TrainStats, error) {
	t := NewTrainer(opts)
	rd := schemas.NewReader(r)
	var rec schemas.Record
	for i := 0; ; i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, t.stats, err
			}
		}
		err := rd.NextInto(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var le *schemas.LineError
			if errors.As(err, &le) {
				t.stats.BadLines++
				continue
			}
			return nil, t.stats, fmt.Errorf("seqmodel: train: %w", err)
		}
		t.AddRecord(&rec)
	}
	m := t.Model()
	return m, t.stats, nil
}
