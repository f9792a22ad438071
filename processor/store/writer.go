package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/mcptrail/mcptrail/processor"
	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

// eventColumn is one column of the events table and the processor.Columns
// slice that fills it.
type eventColumn struct {
	name string
	get  func(*processor.Columns) any
}

// eventColumns are the columns the Writer inserts, in the table's order and
// in the order of processor.Columns' fields. inserted_at is left to its
// default. The tests compare this list with the table and with the struct.
var eventColumns = [...]eventColumn{
	{"event_id", func(c *processor.Columns) any { return c.EventID }},
	{"ts", func(c *processor.Columns) any { return c.TS }},
	{"host", func(c *processor.Columns) any { return c.Host }},
	{"session", func(c *processor.Columns) any { return c.Session }},
	{"client_name", func(c *processor.Columns) any { return c.ClientName }},
	{"client_version", func(c *processor.Columns) any { return c.ClientVersion }},
	{"server_name", func(c *processor.Columns) any { return c.ServerName }},
	{"server_version", func(c *processor.Columns) any { return c.ServerVersion }},
	{"server_command", func(c *processor.Columns) any { return c.ServerCommand }},
	{"server_url", func(c *processor.Columns) any { return c.ServerURL }},
	{"transport", func(c *processor.Columns) any { return c.Transport }},
	{"dir", func(c *processor.Columns) any { return c.Dir }},
	{"kind", func(c *processor.Columns) any { return c.Kind }},
	{"method", func(c *processor.Columns) any { return c.Method }},
	{"category", func(c *processor.Columns) any { return c.Category }},
	{"rpc_id", func(c *processor.Columns) any { return c.RPCID }},
	{"batch_index", func(c *processor.Columns) any { return c.BatchIndex }},
	{"target", func(c *processor.Columns) any { return c.Target }},
	{"params", func(c *processor.Columns) any { return c.Params }},
	{"result", func(c *processor.Columns) any { return c.Result }},
	{"is_error", func(c *processor.Columns) any { return c.IsError }},
	{"error_code", func(c *processor.Columns) any { return c.ErrorCode }},
	{"error_message", func(c *processor.Columns) any { return c.ErrorMessage }},
	{"invalid", func(c *processor.Columns) any { return c.Invalid }},
	{"latency_us", func(c *processor.Columns) any { return c.LatencyUS }},
	{"msg_bytes", func(c *processor.Columns) any { return c.MsgBytes }},
	{"http_method", func(c *processor.Columns) any { return c.HTTPMethod }},
	{"http_path", func(c *processor.Columns) any { return c.HTTPPath }},
	{"http_status", func(c *processor.Columns) any { return c.HTTPStatus }},
	{"token_fp", func(c *processor.Columns) any { return c.TokenFP }},
	{"token_kind", func(c *processor.Columns) any { return c.TokenKind }},
	{"token_iss", func(c *processor.Columns) any { return c.TokenIss }},
	{"token_sub", func(c *processor.Columns) any { return c.TokenSub }},
	{"token_aud", func(c *processor.Columns) any { return c.TokenAud }},
	{"token_client_id", func(c *processor.Columns) any { return c.TokenClientID }},
	{"token_scope", func(c *processor.Columns) any { return c.TokenScope }},
	{"token_exp", func(c *processor.Columns) any { return c.TokenExp }},
	{"auth_type", func(c *processor.Columns) any { return c.AuthType }},
	{"auth_endpoint", func(c *processor.Columns) any { return c.AuthEndpoint }},
	{"auth_resource", func(c *processor.Columns) any { return c.AuthResource }},
	{"auth_code_challenge_method", func(c *processor.Columns) any { return c.AuthPKCEMethod }},
	{"auth_redirect_uri", func(c *processor.Columns) any { return c.AuthRedirect }},
	{"redacted", func(c *processor.Columns) any { return c.Redacted }},
	{"stream", func(c *processor.Columns) any { return c.Stream }},
	{"seq", func(c *processor.Columns) any { return c.Seq }},
	{"chain", func(c *processor.Columns) any { return c.Chain }},
	{"chain_frame", func(c *processor.Columns) any { return c.ChainFrame }},
	{"chain_cuts", func(c *processor.Columns) any { return c.ChainCuts }},
	{"attrs", func(c *processor.Columns) any { return c.Attrs }},
}

// EventColumns returns the names of the events columns the Writer inserts,
// in order.
func EventColumns() []string {
	names := make([]string, len(eventColumns))
	for i, c := range eventColumns {
		names[i] = c.name
	}
	return names
}

// Writer inserts batches of events into the events table of one database.
// It is safe for concurrent use if its connection is.
type Writer struct {
	conn     driver.Conn
	insert   string
	table    string
	database string
}

// NewWriter returns a Writer into database's events table (the public name:
// on a cluster, the Distributed table). An empty database means
// schemas/clickhouse.DefaultDatabase.
func NewWriter(conn driver.Conn, database string) (*Writer, error) {
	if database == "" {
		database = chschema.DefaultDatabase
	}
	if !ValidIdent(database) {
		return nil, fmt.Errorf("store: database name %q: want letters, digits and _", database)
	}
	table := database + ".events"
	return &Writer{
		conn:     conn,
		table:    table,
		database: database,
		insert:   "INSERT INTO " + table + " (" + strings.Join(EventColumns(), ", ") + ")",
	}, nil
}

// Insert writes cols as one block. dedupToken, if not empty, is sent as
// insert_deduplication_token: the server drops a block whose token it has
// seen (within the table's deduplication window), so retrying a batch with
// the same token never stores it twice. The token must identify the batch's
// content (for example a hash of its event ids). The materialized views
// deduplicate the retried block too
// (deduplicate_blocks_in_dependent_materialized_views). Settings already on
// ctx through clickhouse.Context are replaced. An empty batch is a no-op.
func (w *Writer) Insert(ctx context.Context, cols *processor.Columns, dedupToken string) error {
	n := cols.Len()
	if n == 0 {
		return nil
	}
	for _, c := range eventColumns {
		if l := reflect.ValueOf(c.get(cols)).Len(); l != n {
			return fmt.Errorf("store: insert into %s: column %s has %d rows, event_id %d: a malformed processor.Columns", w.table, c.name, l, n)
		}
	}
	settings := clickhouse.Settings{"deduplicate_blocks_in_dependent_materialized_views": 1}
	if dedupToken != "" {
		settings["insert_deduplication_token"] = dedupToken
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(settings))
	names, values := make([]string, len(eventColumns)), make([]any, len(eventColumns))
	for i, c := range eventColumns {
		names[i], values[i] = c.name, c.get(cols)
	}
	return InsertColumns(ctx, w.conn, w.insert, fmt.Sprintf("store: insert %d events into %s", n, w.table), names, values)
}

// ValidIdent reports whether s is a plain ClickHouse identifier (letters,
// digits and _, not starting with a digit): the names mcptrail puts into SQL.
func ValidIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
