package processor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/mcptrail/mcptrail/schemas"
)

// Chain window defaults.
const (
	// DefaultChainMaxAhead is how many records of one stream may wait for
	// an earlier one before the missing ones are reported as a gap.
	DefaultChainMaxAhead = 4096
	// DefaultChainMaxWait is how long a record may wait for an earlier one.
	DefaultChainMaxWait = 30 * time.Second
	// DefaultChainMaxWaiting bounds the waiting records of all streams.
	DefaultChainMaxWaiting = 65536
	// DefaultChainIdle is how long a stream's state is kept after its last
	// record.
	DefaultChainIdle = time.Hour
	// recentChains is how many released chain values a stream remembers,
	// to tell a redelivered record from a conflicting one.
	recentChains = 512
)

// ChainWindowConfig bounds a ChainWindow. Zero fields take the defaults.
type ChainWindowConfig struct {
	MaxAhead   int
	MaxWait    time.Duration
	MaxWaiting int
	Idle       time.Duration
}

func (c ChainWindowConfig) withDefaults() ChainWindowConfig {
	if c.MaxAhead <= 0 {
		c.MaxAhead = DefaultChainMaxAhead
	}
	if c.MaxWait <= 0 {
		c.MaxWait = DefaultChainMaxWait
	}
	if c.MaxWaiting <= 0 {
		c.MaxWaiting = DefaultChainMaxWaiting
	}
	if c.Idle <= 0 {
		c.Idle = DefaultChainIdle
	}
	return c
}

// ChainLink is one chained record as the ChainWindow needs it.
type ChainLink struct {
	Stream, Host, Session string
	Seq                   uint64
	Chain                 string
	// Canon is the record's canonical bytes (see Canonical); FromLine
	// tells they were cut from the line rather than encoded again.
	Canon    []byte
	FromLine bool
}

// ChainReport is a chain problem with where it was seen.
type ChainReport struct {
	schemas.ChainProblem
	Host, Session string
}

// ChainWindow checks the hash chains of collector streams whose records
// arrive slightly out of order: a collector stream covers several MCP
// sessions, the bus keys records by session, so one stream's records come
// from several partitions, each in order but interleaved at random. A
// record that comes early waits (bounded by MaxAhead per stream, MaxWait,
// and MaxWaiting in all) for the ones before it; when they do not come in
// time, they are reported as a gap. State is kept per stream.
//
// A processor restarting, or taking over partitions, starts in the middle
// of streams: the first record seen of a stream sets its start (after the
// wait, at the lowest seq then seen), with no gap before it and its own
// hash unchecked (its predecessor is unknown). `mcptrail verify`, which
// reads whole streams back from storage, is the complete check.
//
// It is not safe for concurrent use.
type ChainWindow struct {
	cfg     ChainWindowConfig
	streams map[string]*chainStream
	waiting int
	// Checked counts records whose hash was verified, Duplicates records
	// delivered again (not problems under at-least-once delivery).
	Checked, Duplicates int64
}

type chainStream struct {
	started  bool   // next and prev are known
	next     uint64 // the seq expected next
	prev     string // chain value of next-1, "" if unknown
	havePrev bool
	ahead    map[uint64]aheadLink
	since    time.Time // arrival of the oldest waiting record
	last     time.Time // last record seen
	recent   [recentChains]recentLink
}

type aheadLink struct {
	ChainLink
	at time.Time
}

type recentLink struct {
	seq   uint64
	chain string
}

// NewChainWindow returns a window with no streams seen.
func NewChainWindow(cfg ChainWindowConfig) *ChainWindow {
	return &ChainWindow{cfg: cfg.withDefaults(), streams: map[string]*chainStream{}}
}

// Waiting is how many records wait for an earlier one.
func (w *ChainWindow) Waiting() int { return w.waiting }

// Streams is how many streams the window keeps state for.
func (w *ChainWindow) Streams() int { return len(w.streams) }

// Add takes the next record of its stream as it arrived at now, and
// returns the problems found (for it or for records it released).
func (w *ChainWindow) Add(now time.Time, l ChainLink) []ChainReport {
	st := w.streams[l.Stream]
	if st == nil {
		st = &chainStream{ahead: map[uint64]aheadLink{}}
		w.streams[l.Stream] = st
		if l.Seq == 1 {
			st.started, st.next, st.havePrev = true, 1, true
		}
	}
	st.last = now
	var out []ChainReport
	switch {
	case st.started && l.Seq < st.next:
		return w.late(st, l)
	case st.started && l.Seq == st.next:
		out = w.release(st, l, out)
		out = w.drain(st, out)
	default:
		if old, ok := st.ahead[l.Seq]; ok {
			if old.Chain == l.Chain {
				w.Duplicates++
				return nil
			}
			return []ChainReport{report(l, schemas.ChainConflict, fmt.Sprintf("chain %.12s… differs from the record already seen with this seq (%.12s…)", l.Chain, old.Chain))}
		}
		if len(st.ahead) == 0 {
			st.since = now
		}
		st.ahead[l.Seq] = aheadLink{ChainLink: l, at: now}
		w.waiting++
		if len(st.ahead) > w.cfg.MaxAhead {
			out = w.skip(st, out)
		}
	}
	for w.waiting > w.cfg.MaxWaiting {
		out = w.skip(w.oldest(), out)
	}
	return out
}

// Expire reports the gaps of streams whose oldest waiting record has
// waited MaxWait at now, releases what waited, and forgets streams idle
// for longer than Idle.
func (w *ChainWindow) Expire(now time.Time) []ChainReport {
	var out []ChainReport
	for id, st := range w.streams {
		if len(st.ahead) > 0 && now.Sub(st.since) >= w.cfg.MaxWait {
			out = w.skip(st, out)
		}
		if len(st.ahead) == 0 && now.Sub(st.last) >= w.cfg.Idle {
			delete(w.streams, id)
		}
	}
	return out
}

// late handles a record whose seq was passed already: a redelivery, a
// conflicting record, or one that came after its wait ran out.
func (w *ChainWindow) late(st *chainStream, l ChainLink) []ChainReport {
	if st.next-l.Seq <= recentChains {
		if r := st.recent[l.Seq%recentChains]; r.seq == l.Seq {
			if r.chain == l.Chain {
				w.Duplicates++
				return nil
			}
			return []ChainReport{report(l, schemas.ChainConflict, fmt.Sprintf("chain %.12s… differs from the record already seen with this seq (%.12s…)", l.Chain, r.chain))}
		}
	}
	return []ChainReport{report(l, schemas.ChainReorder, fmt.Sprintf("arrived after seq %d, beyond the reorder window", st.next-1))}
}

// skip gives up waiting on st: the missing records before its lowest
// waiting one are a gap (or, for a stream not started yet, its start).
func (w *ChainWindow) skip(st *chainStream, out []ChainReport) []ChainReport {
	if len(st.ahead) == 0 {
		return out
	}
	low := uint64(0)
	for seq := range st.ahead {
		if low == 0 || seq < low {
			low = seq
		}
	}
	l := st.ahead[low]
	if st.started {
		p := report(l.ChainLink, schemas.ChainGap, "")
		p.From, p.To = st.next, low-1
		p.Detail = fmt.Sprintf("records %d..%d did not arrive within the reorder window", st.next, low-1)
		out = append(out, p)
	}
	st.started, st.next, st.prev, st.havePrev = true, low, "", low == 1
	return w.drain(st, out)
}

// drain releases the waiting records that are next in sequence.
func (w *ChainWindow) drain(st *chainStream, out []ChainReport) []ChainReport {
	for {
		l, ok := st.ahead[st.next]
		if !ok {
			break
		}
		delete(st.ahead, st.next)
		w.waiting--
		out = w.release(st, l.ChainLink, out)
	}
	st.since = time.Time{}
	for _, a := range st.ahead {
		if st.since.IsZero() || a.at.Before(st.since) {
			st.since = a.at
		}
	}
	return out
}

// release checks l, the record st expects next, against its predecessor.
func (w *ChainWindow) release(st *chainStream, l ChainLink, out []ChainReport) []ChainReport {
	if st.havePrev {
		w.Checked++
		if !chainMatches(st.prev, l) {
			out = append(out, report(l, schemas.ChainEdit, "chain value does not match the record and its predecessor"))
		}
	}
	st.prev, st.havePrev, st.next = l.Chain, true, l.Seq+1
	st.recent[l.Seq%recentChains] = recentLink{l.Seq, l.Chain}
	return out
}

// oldest is the stream whose waiting record has waited longest.
func (w *ChainWindow) oldest() *chainStream {
	var o *chainStream
	for _, st := range w.streams {
		if len(st.ahead) > 0 && (o == nil || st.since.Before(o.since)) {
			o = st
		}
	}
	return o
}

// chainMatches reports whether l's chain value is SHA-256 over prev and
// its canonical bytes. A line-derived value that fails is encoded again
// before concluding (a line not written by the sealer may differ from the
// canonical bytes in form only).
func chainMatches(prev string, l ChainLink) bool {
	if sum(prev, l.Canon) == l.Chain {
		return true
	}
	if !l.FromLine {
		return false
	}
	canon, err := CanonicalFromBytes(l.Canon)
	return err == nil && !bytes.Equal(canon, l.Canon) && sum(prev, canon) == l.Chain
}

func sum(prev string, canon []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write(canon)
	var b [sha256.Size]byte
	return hex.EncodeToString(h.Sum(b[:0]))
}

func report(l ChainLink, kind schemas.ChainProblemKind, detail string) ChainReport {
	return ChainReport{
		ChainProblem: schemas.ChainProblem{Kind: kind, Stream: l.Stream, Seq: l.Seq, Detail: detail},
		Host:         l.Host, Session: l.Session,
	}
}
