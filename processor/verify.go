package processor

import (
	"fmt"
	"time"

	"github.com/mcptrail/mcptrail/schemas"
)

// StoredRow is one row of a chained record as `mcptrail verify` reads it
// back from the events table, in (stream, seq, batch_index) order.
type StoredRow struct {
	Stream     string
	Seq        uint64
	BatchIndex int16
	Chain      string
	Frame      []byte
	Cuts       []uint32
	Params     []byte
	Result     []byte
	EventID    uint64
	TS         time.Time
	Host       string
	Session    string
	ServerName string
	Dir        string
	Kind       string
}

// Verifier re-checks the hash chains of stored records: it rebuilds each
// record from its rows (chain frame, params, result), checks the chain
// with schemas.ChainChecker, and checks that the rows' identifying
// columns are still what the record gives. Rows must come sorted by
// stream, seq and batch_index, each record once (read with FINAL).
type Verifier struct {
	checker *schemas.ChainChecker
	partial bool // the rows start after some streams' first records
	rows    []StoredRow
	first   map[string]bool // streams seen
	events  []schemas.Event

	// Problems found so far.
	Problems []ChainReport
	// Records and Rows counted; Unframed records lack a chain frame (stored
	// before schema version 6) and were only checked for their sequence.
	Records, Rows, Unframed int64
	Streams                 int
}

// NewVerifier returns a Verifier. partial says the rows are a time window
// (--since): a stream's first row then is no gap even if its seq is not 1.
func NewVerifier(partial bool) *Verifier {
	return &Verifier{checker: schemas.NewChainChecker(), partial: partial, first: map[string]bool{}}
}

// Add takes the next row.
func (v *Verifier) Add(r StoredRow) error {
	if n := len(v.rows); n > 0 && (v.rows[n-1].Stream != r.Stream || v.rows[n-1].Seq != r.Seq) {
		if err := v.flush(); err != nil {
			return err
		}
	}
	v.rows = append(v.rows, r)
	v.Rows++
	return nil
}

// Finish checks the last record.
func (v *Verifier) Finish() error { return v.flush() }

// flush checks the record whose rows are in v.rows.
func (v *Verifier) flush() error {
	rows := v.rows
	if len(rows) == 0 {
		return nil
	}
	defer func() { v.rows = v.rows[:0] }()
	v.Records++
	head := rows[0]
	firstOfStream := !v.first[head.Stream]
	if firstOfStream {
		v.first[head.Stream] = true
		v.Streams++
	}
	problem := func(kind schemas.ChainProblemKind, detail string) {
		v.Problems = append(v.Problems, ChainReport{
			ChainProblem: schemas.ChainProblem{Kind: kind, Stream: head.Stream, Seq: head.Seq, Detail: detail},
			Host:         head.Host, Session: head.Session,
		})
	}
	rec := schemas.Record{Stream: head.Stream, Seq: head.Seq, Chain: head.Chain}
	framed := len(head.Frame) > 0
	if framed {
		params := make([][]byte, len(rows))
		result := make([][]byte, len(rows))
		for i, r := range rows {
			params[i], result[i] = r.Params, r.Result
		}
		canon, err := Rebuild(head.Frame, head.Cuts, params, result)
		if err != nil {
			problem(schemas.ChainEdit, "stored chain frame is damaged: "+err.Error())
			framed = false
		} else if err := DecodeCanonical(canon, head.Chain, &rec); err != nil {
			problem(schemas.ChainEdit, "the rebuilt record does not decode: "+err.Error())
			framed = false
		} else {
			if rec.Stream != head.Stream || rec.Seq != head.Seq {
				problem(schemas.ChainEdit, fmt.Sprintf("stream/seq columns differ from the chained record (%s/%d)", rec.Stream, rec.Seq))
			}
			v.compare(&rec, rows, problem)
		}
	}
	if !framed {
		v.Unframed++
		return nil
	}
	ps, err := v.checker.Check(&rec)
	if err != nil {
		return fmt.Errorf("verify stream %s seq %d: %w", head.Stream, head.Seq, err)
	}
	for _, p := range ps {
		if p.Kind == schemas.ChainGap && firstOfStream && v.partial {
			continue // the stream began before the window
		}
		if p.Kind == schemas.ChainGap {
			v.Problems = append(v.Problems, ChainReport{ChainProblem: p, Host: head.Host, Session: head.Session})
			continue
		}
		problem(p.Kind, p.Detail)
	}
	return nil
}

// compare checks the rows' identifying columns against the events the
// rebuilt record gives.
func (v *Verifier) compare(rec *schemas.Record, rows []StoredRow, problem func(schemas.ChainProblemKind, string)) {
	v.events = schemas.AppendEvents(v.events[:0], rec)
	if len(v.events) != len(rows) {
		problem(schemas.ChainEdit, fmt.Sprintf("%d rows stored, the chained record gives %d", len(rows), len(v.events)))
		return
	}
	for i := range v.events {
		ev, r := &v.events[i], &rows[i]
		var col string
		switch {
		case EventID(rec, ev.BatchIndex) != r.EventID:
			col = "event_id"
		case !ev.TS.Truncate(time.Microsecond).Equal(r.TS):
			col = "ts"
		case ev.Host != r.Host:
			col = "host"
		case ev.Session != r.Session:
			col = "session"
		case ev.ServerName != r.ServerName:
			col = "server_name"
		case string(ev.Dir) != r.Dir:
			col = "dir"
		case string(ev.Kind) != r.Kind:
			col = "kind"
		}
		if col != "" {
			problem(schemas.ChainEdit, fmt.Sprintf("row %d: column %s differs from the chained record", i, col))
		}
	}
}
