package seqmodel

import (
	"context"
	"fmt"
	"time"
)

// CallsQuery selects the tool calls of a time window from the ClickHouse
// events table, ordered by session and time: the rows TrainClickHouse
// learns from. Its two parameters are the window's start (inclusive) and
// end (exclusive). It is the only ClickHouse-specific text of the package.
const CallsQuery = `SELECT session, client_name, server_name, target, ts
FROM events
WHERE kind = 'request' AND method = 'tools/call' AND target != ''
  AND ts >= ? AND ts < ?
ORDER BY session, ts`

// Rows is what a query yields (database/sql's *Rows and clickhouse-go's
// driver.Rows both fit).
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Querier runs a query.
type Querier interface {
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// QueryFunc adapts a function to Querier, e.g. for a clickhouse-go
// connection:
//
//	seqmodel.QueryFunc(func(ctx context.Context, q string, args ...any) (seqmodel.Rows, error) {
//		return conn.Query(ctx, q, args...)
//	})
type QueryFunc func(ctx context.Context, query string, args ...any) (Rows, error)

// Query calls f.
func (f QueryFunc) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	return f(ctx, query, args...)
}

// TrainClickHouse learns a model from the tool calls stored between from
// and to, read with CallsQuery: rows of (session, client, server, tool,
// ts) ordered by session and ts.
func TrainClickHouse(ctx context.Context, q Querier, from, to time.Time, opts TrainOptions) (*Model, TrainStats, error) {
	rows, err := q.Query(ctx, CallsQuery, from.UTC(), to.UTC())
	if err != nil {
		return nil, TrainStats{}, fmt.Errorf("seqmodel: query calls: %w", err)
	}
	defer rows.Close()
	t := NewTrainer(opts)
	prev := ""
	for n := 0; rows.Next(); n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, t.stats, err
			}
		}
		var session, client, server, tool string
		var ts time.Time
		if err := rows.Scan(&session, &client, &server, &tool, &ts); err != nil {
			return nil, t.stats, fmt.Errorf("seqmodel: scan call row %d: %w", n+1, err)
		}
		t.stats.Records++
		if session != prev && prev != "" {
			t.EndSession(prev) // rows come ordered by session
		}
		prev = session
		t.AddCall(session, client, server, tool)
	}
	if err := rows.Err(); err != nil {
		return nil, t.stats, fmt.Errorf("seqmodel: read call rows: %w", err)
	}
	return t.Model(), t.stats, nil
}
