package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/mcptrail/mcptrail/processor/store"
)

// warehouse reads what the pipeline stored in ClickHouse.
type warehouse struct {
	conn driver.Conn
	db   string
}

func openWarehouse(ctx context.Context, url, db string) (*warehouse, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := store.Open(cctx, url)
	if err != nil {
		return nil, err
	}
	return &warehouse{conn: conn, db: db}, nil
}

func (w *warehouse) close() { _ = w.conn.Close() }

// table qualifies a table name with the database.
func (w *warehouse) table(name string) string { return w.db + "." + name }

// count runs a query returning one UInt64.
func (w *warehouse) count(ctx context.Context, query string, args ...any) (uint64, error) {
	var n uint64
	if err := w.conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("clickhouse: %s: %w", firstLine(query), err)
	}
	return n, nil
}

// eventsStored is how many distinct events are stored (a redelivered
// record stores its rows again under the same event ids).
func (w *warehouse) eventsStored(ctx context.Context) (uint64, error) {
	return w.count(ctx, "SELECT uniqExact(event_id) FROM "+w.table("events"))
}

// sessionRow is one stored MCP session and when its first event was
// captured.
type sessionRow struct {
	ID    string
	First time.Time
}

// sessions lists the stored sessions, oldest first.
func (w *warehouse) sessions(ctx context.Context) ([]sessionRow, error) {
	rows, err := w.conn.Query(ctx, "SELECT session, toInt64(toUnixTimestamp64Micro(min(ts))) AS first FROM "+w.table("events")+" GROUP BY session ORDER BY first")
	if err != nil {
		return nil, fmt.Errorf("clickhouse: sessions: %w", err)
	}
	defer rows.Close()
	var out []sessionRow
	for rows.Next() {
		var s sessionRow
		var first int64
		if err := rows.Scan(&s.ID, &first); err != nil {
			return nil, fmt.Errorf("clickhouse: sessions: %w", err)
		}
		s.First = time.UnixMicro(first).UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

// inventory is what the stored events cover.
type inventory struct {
	Servers   []string
	ToolsUsed uint64
	ToolCalls uint64
}

func (w *warehouse) inventory(ctx context.Context) (inventory, error) {
	var inv inventory
	var servers string
	q := `SELECT arrayStringConcat(arraySort(groupUniqArray(toString(server_name))), ','),
	uniqExactIf(tuple(toString(server_name), target), method = 'tools/call' AND kind = 'request'),
	countIf(method = 'tools/call' AND kind = 'request')
FROM ` + w.table("events")
	if err := w.conn.QueryRow(ctx, q).Scan(&servers, &inv.ToolsUsed, &inv.ToolCalls); err != nil {
		return inv, fmt.Errorf("clickhouse: inventory: %w", err)
	}
	inv.Servers = strings.Split(servers, ",")
	return inv, nil
}

// findingRow is one stored finding.
type findingRow struct {
	Session, Rule, Severity, Title, Server string
	TS                                     time.Time
}

// findings lists the stored findings in time order (FINAL: a finding
// stored twice after a redelivery counts once).
func (w *warehouse) findings(ctx context.Context) ([]findingRow, error) {
	q := `SELECT session, toString(rule), toString(severity), title, toString(server_name), toInt64(toUnixTimestamp64Micro(ts))
FROM ` + w.table("findings") + ` FINAL ORDER BY ts, rule`
	rows, err := w.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: findings: %w", err)
	}
	defer rows.Close()
	var out []findingRow
	for rows.Next() {
		var f findingRow
		var ts int64
		if err := rows.Scan(&f.Session, &f.Rule, &f.Severity, &f.Title, &f.Server, &ts); err != nil {
			return nil, fmt.Errorf("clickhouse: findings: %w", err)
		}
		f.TS = time.UnixMicro(ts).UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}

// secretsStored counts stored rows whose params or result hold one of
// values verbatim: the collector redacts secrets before records leave the
// host, so this must be 0.
func (w *warehouse) secretsStored(ctx context.Context, values []string) (uint64, error) {
	return w.count(ctx, "SELECT count() FROM "+w.table("events")+
		" WHERE multiSearchAny(params, {values:Array(String)}) OR multiSearchAny(result, {values:Array(String)})",
		clickhouse.Named("values", values))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
