// Package capture turns what a collector taps into capture records: it
// learns each session's client and server from initialize, redacts secrets,
// numbers and chains the collector's stream (schemas.Sealer), and hands the
// encoded lines to a Sink in the order they were sealed.
package capture

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcptrail/mcptrail/schemas"
)

// Redactor replaces secrets in a JSON value before it leaves the host and
// lists the paths it replaced; prefix is the value's path in the record.
type Redactor interface {
	Redact(prefix string, value []byte) (out []byte, replaced []string, err error)
}

// Sink receives encoded capture lines (without a line break), keyed by MCP
// session, in stream order. Write must not block the caller for long: a
// sink that cannot keep up drops the record and returns an error.
type Sink interface {
	Write(key string, line []byte) error
	Close(ctx context.Context) error
}

// Config describes the stream a Recorder writes.
type Config struct {
	// Host is the machine the collector runs on.
	Host string
	// Server names the MCP server and what ran (command or URL).
	Server schemas.Server
	// Transport is the MCP transport watched.
	Transport schemas.Transport
	// Stream is the collector stream id; empty means a random one.
	Stream string
	// Redactor redacts messages; nil leaves them as they are.
	Redactor Redactor
	// Sink receives the records. Required.
	Sink Sink
	// Logger receives warnings (dropped records); nil means slog.Default.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// maxExcerpt is how much of a line that is not JSON a parse_error record
// keeps.
const maxExcerpt = 256

// maxSessions bounds the sessions a Recorder remembers (client and server
// learnt from initialize); beyond it one is forgotten at random.
const maxSessions = 10000

// Recorder builds, seals and delivers capture records. It is safe for
// concurrent use: both directions of a session may record at once.
type Recorder struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex // serializes sealing and delivery: chain order is delivery order
	sealer   *schemas.Sealer
	sessions map[string]*sessionState

	records  atomic.Int64
	dropped  atomic.Int64
	lastWarn atomic.Int64 // unix seconds of the last drop warning
}

// New returns a Recorder for cfg.
func New(cfg Config) (*Recorder, error) {
	if cfg.Sink == nil {
		return nil, fmt.Errorf("capture: no sink")
	}
	if cfg.Server.Name == "" {
		return nil, fmt.Errorf("capture: the server needs a name")
	}
	if !cfg.Transport.Valid() {
		return nil, fmt.Errorf("capture: unknown transport %q", cfg.Transport)
	}
	if cfg.Stream == "" {
		cfg.Stream = NewID()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Recorder{cfg: cfg, log: log, sealer: schemas.NewSealer(cfg.Stream), sessions: map[string]*sessionState{}}, nil
}

// NewID returns a random 16-hex-digit id for a session or a stream.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Stats are a Recorder's counters.
type Stats struct {
	Records int64 // records handed to the sink
	Dropped int64 // records the sink refused
}

// Stats returns the counters so far.
func (r *Recorder) Stats() Stats {
	return Stats{Records: r.records.Load(), Dropped: r.dropped.Load()}
}

// Message records one tapped line that holds JSON (a JSON-RPC message or a
// batch) seen on session in direction dir. A line that is not a JSON object
// or array is recorded as a parse error instead.
func (r *Recorder) Message(session string, dir schemas.Direction, line []byte) {
	if reason := notMessage(line); reason != "" {
		r.NotJSON(session, dir, line, len(line), reason)
		return
	}
	rec := r.base(session, dir)
	msg, redacted, err := r.redact("msg", line)
	if err != nil {
		r.NotJSON(session, dir, line, len(line), "cannot redact: "+err.Error())
		return
	}
	rec.Msg, rec.Redacted = msg, redacted
	r.emit(rec)
}

// NotJSON records a line of size bytes relayed on session that could not
// be read as JSON, with the reason and a short redacted excerpt of line
// (which may be nil when the line was not kept, being too long).
func (r *Recorder) NotJSON(session string, dir schemas.Direction, line []byte, size int, reason string) {
	rec := r.base(session, dir)
	excerpt := line[:min(len(line), maxExcerpt)]
	pe := &schemas.ParseError{Reason: reason, Bytes: size, Excerpt: string(excerpt)}
	if r.cfg.Redactor != nil {
		quoted, err := jsonString(pe.Excerpt)
		if err == nil {
			if out, replaced, err := r.cfg.Redactor.Redact("parse_error.excerpt", quoted); err == nil {
				if s, err := unquote(out); err == nil {
					pe.Excerpt, rec.Redacted = s, replaced
				}
			}
		}
	}
	rec.ParseError = pe
	r.emit(rec)
}

// Emit seals and delivers a record the caller built (a message with its
// HTTP facts and token, an OAuth event), filling the fields the Recorder
// owns: time, host, server, client, stream, seq and chain. fill sets the
// rest; it may also set Transport, when one recorder serves several (an
// HTTP proxy). A record with a message teaches the session its client and
// server like Message does.
func (r *Recorder) Emit(session string, dir schemas.Direction, fill func(*schemas.Record)) {
	rec := r.base(session, dir)
	fill(rec)
	r.emit(rec)
}

// Redact redacts a JSON value with the configured redactor (for callers
// that build records themselves).
func (r *Recorder) Redact(prefix string, value []byte) ([]byte, []string, error) {
	return r.redact(prefix, value)
}

func (r *Recorder) redact(prefix string, value []byte) ([]byte, []string, error) {
	if r.cfg.Redactor == nil {
		return value, nil, nil
	}
	return r.cfg.Redactor.Redact(prefix, value)
}

func (r *Recorder) base(session string, dir schemas.Direction) *schemas.Record {
	return &schemas.Record{
		V: schemas.FormatVersion, Host: r.cfg.Host, Session: session,
		Server: r.cfg.Server, Transport: r.cfg.Transport, Dir: dir,
	}
}

// emit stamps the time, learns from the record's message, fills in what
// the session learnt, seals and delivers rec. The time is taken under the
// lock, so that within a session the order of ts is the order of seq, as
// the capture format promises.
func (r *Recorder) emit(rec *schemas.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec.TS = r.cfg.Now().UTC()
	s := r.sessions[rec.Session]
	if s == nil {
		if len(r.sessions) >= maxSessions {
			for k := range r.sessions { // forget one at random: memory stays bounded
				delete(r.sessions, k)
				break
			}
		}
		s = &sessionState{}
		r.sessions[rec.Session] = s
	}
	if len(rec.Msg) > 0 {
		s.learn(rec.Dir, rec.Msg)
	}
	if s.client != nil {
		rec.Client = s.client
	}
	if s.serverVersion != "" && rec.Server.Version == "" {
		rec.Server.Version = s.serverVersion
	}
	line, err := r.sealer.SealEncode(rec)
	if err != nil {
		r.drop(fmt.Errorf("encode: %w", err))
		return
	}
	if err := r.cfg.Sink.Write(rec.Session, line); err != nil {
		r.drop(err)
		return
	}
	r.records.Add(1)
}

// drop counts a record that was lost and warns at most once a second.
func (r *Recorder) drop(err error) {
	n := r.dropped.Add(1)
	now := time.Now().Unix()
	if last := r.lastWarn.Load(); now > last && r.lastWarn.CompareAndSwap(last, now) {
		r.log.Warn("capture: dropped a capture record; the MCP traffic is not affected", "dropped_total", n, "err", err)
	}
}

// Forget drops what the Recorder knows of a session that ended.
func (r *Recorder) Forget(session string) {
	r.mu.Lock()
	delete(r.sessions, session)
	r.mu.Unlock()
}
