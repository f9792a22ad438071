package store

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

// Executor runs schema migrations on a clickhouse-go connection: it
// implements schemas/clickhouse.Executor for Apply.
type Executor struct {
	conn driver.Conn
	opts chschema.Options
}

var _ chschema.Executor = (*Executor)(nil)

// NewExecutor returns an Executor on conn for the schema variant opts (the
// database whose schema_migrations it reads).
func NewExecutor(conn driver.Conn, opts chschema.Options) *Executor {
	return &Executor{conn: conn, opts: opts}
}

// Exec runs one statement.
func (e *Executor) Exec(ctx context.Context, query string) error {
	return e.conn.Exec(ctx, query)
}

// AppliedVersions returns the checksum of every applied migration by
// version, from AppliedVersionsQuery.
func (e *Executor) AppliedVersions(ctx context.Context) (map[int]string, error) {
	q, err := chschema.AppliedVersionsQuery(e.opts)
	if err != nil {
		return nil, err
	}
	rows, err := e.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("query applied migrations: %w", err)
	}
	defer rows.Close()
	done := map[int]string{}
	for rows.Next() {
		var (
			version  uint32
			checksum string
		)
		if err := rows.Scan(&version, &checksum); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		done[int(version)] = checksum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	return done, nil
}
