package store

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// InsertColumns sends one block through clickhouse-go's batch API, column
// by column: cols[i] is the slice for the column named names[i] of insert
// (an INSERT INTO … (names) statement). The settings on ctx (a
// deduplication token, say) apply. Errors start with what, such as
// "store: insert 10 events into mcptrail.events", then name the step.
func InsertColumns(ctx context.Context, conn driver.Conn, insert, what string, names []string, cols []any) error {
	batch, err := conn.PrepareBatch(ctx, insert)
	if err != nil {
		return fmt.Errorf("%s: prepare: %w", what, err)
	}
	defer func() {
		if !batch.IsSent() {
			_ = batch.Abort()
		}
	}()
	for i, col := range cols {
		if err := batch.Column(i).Append(col); err != nil {
			return fmt.Errorf("%s: column %s: %w", what, names[i], err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("%s: send: %w", what, err)
	}
	return nil
}
