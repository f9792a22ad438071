package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/mcptrail/mcptrail/processor"
)

// codeUnknownTable is ClickHouse's UNKNOWN_TABLE error code.
const codeUnknownTable = 60

// Sink writes what the processor produces into one database: events
// (through a Writer), chain_problems, dead_letters and pipeline_metrics.
// It implements processor.Sink.
type Sink struct {
	conn     driver.Conn
	events   *Writer
	database string
}

var _ processor.Sink = (*Sink)(nil)

// NewSink returns a Sink into database (schemas/clickhouse.DefaultDatabase
// if empty) over conn.
func NewSink(conn driver.Conn, database string) (*Sink, error) {
	w, err := NewWriter(conn, database)
	if err != nil {
		return nil, err
	}
	return &Sink{conn: conn, events: w, database: w.database}, nil
}

// InsertEvents writes a batch of events with its deduplication token.
func (s *Sink) InsertEvents(ctx context.Context, cols *processor.Columns, dedupToken string) error {
	return s.events.Insert(ctx, cols, dedupToken)
}

// InsertChainProblems writes rows of chain_problems.
func (s *Sink) InsertChainProblems(ctx context.Context, at time.Time, ps []processor.ChainReport) error {
	return s.insertRows(ctx, "chain_problems", "(ts, kind, stream, host, session, seq, from_seq, to_seq, detail)", len(ps), func(b driver.Batch, i int) error {
		p := ps[i]
		return b.Append(at, string(p.Kind), p.Stream, p.Host, p.Session, p.Seq, p.From, p.To, p.Detail)
	})
}

// InsertDeadLetters writes rows of dead_letters.
func (s *Sink) InsertDeadLetters(ctx context.Context, ds []processor.DeadLetter) error {
	return s.insertRows(ctx, "dead_letters", "(ts, source, position, reason, payload)", len(ds), func(b driver.Batch, i int) error {
		d := ds[i]
		return b.Append(d.At, d.Source, d.Position, d.Reason, string(d.Payload))
	})
}

// InsertMetrics writes rows of pipeline_metrics.
func (s *Sink) InsertMetrics(ctx context.Context, ms []processor.Metric) error {
	return s.insertRows(ctx, "pipeline_metrics", "(ts, component, instance, metric, labels, value)", len(ms), func(b driver.Batch, i int) error {
		m := ms[i]
		labels := m.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		return b.Append(m.TS, m.Component, m.Instance, m.Name, labels, m.Value)
	})
}

// insertRows inserts n rows, appended by row, into table.
func (s *Sink) insertRows(ctx context.Context, table, columns string, n int, row func(driver.Batch, int) error) error {
	if n == 0 {
		return nil
	}
	name := s.database + "." + table
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+name+" "+columns)
	if err != nil {
		return wrapTableErr(name, n, "prepare", err)
	}
	defer func() {
		if !batch.IsSent() {
			_ = batch.Abort()
		}
	}()
	for i := range n {
		if err := row(batch, i); err != nil {
			return fmt.Errorf("store: insert %d rows into %s: row %d: %w", n, name, i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return wrapTableErr(name, n, "send", err)
	}
	return nil
}

// wrapTableErr wraps err, marking a missing table with processor.ErrNoTable.
func wrapTableErr(table string, n int, step string, err error) error {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) && ex.Code == codeUnknownTable {
		return fmt.Errorf("store: insert %d rows into %s: %w: %w", n, table, processor.ErrNoTable, err)
	}
	return fmt.Errorf("store: insert %d rows into %s: %s: %w", n, table, step, err)
}
