package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/mcptrail/mcptrail/processor"
	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

// ChainFilter selects the chained rows ReadChainRows returns.
type ChainFilter struct {
	// Host, if set, keeps the rows of that collector host.
	Host string
	// Since, if not zero, keeps the rows captured at or after it.
	Since time.Time
}

// ReadChainRows reads the chained rows of database's events table
// (deduplicated with FINAL), sorted by stream, seq and batch_index, and
// passes each to fn. The processor.StoredRow given to fn is reused.
func ReadChainRows(ctx context.Context, conn driver.Conn, database string, f ChainFilter, fn func(*processor.StoredRow) error) error {
	if database == "" {
		database = chschema.DefaultDatabase
	}
	if !ValidIdent(database) {
		return fmt.Errorf("store: database name %q: want letters, digits and _", database)
	}
	q := `SELECT stream, seq, batch_index, chain, chain_frame, chain_cuts, params, result,
	event_id, ts, host, session, server_name, dir, kind
FROM ` + database + `.events FINAL
WHERE stream != ''`
	var args []any
	if f.Host != "" {
		q += " AND host = ?"
		args = append(args, f.Host)
	}
	if !f.Since.IsZero() {
		q += " AND ts >= fromUnixTimestamp64Micro(?, 'UTC')"
		args = append(args, f.Since.UnixMicro())
	}
	q += "\nORDER BY stream, seq, batch_index"
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: read chained events from %s.events: %w", database, err)
	}
	defer rows.Close()
	var (
		r                     processor.StoredRow
		frame, params, result string
	)
	for rows.Next() {
		if err := rows.Scan(&r.Stream, &r.Seq, &r.BatchIndex, &r.Chain, &frame, &r.Cuts, &params, &result,
			&r.EventID, &r.TS, &r.Host, &r.Session, &r.ServerName, &r.Dir, &r.Kind); err != nil {
			return fmt.Errorf("store: read chained events from %s.events: %w", database, err)
		}
		r.Frame, r.Params, r.Result = []byte(frame), []byte(params), []byte(result)
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read chained events from %s.events: %w", database, err)
	}
	return nil
}
