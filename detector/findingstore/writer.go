package findingstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/cespare/xxhash/v2"
	"github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/detector"
	"github.com/mcptrail/mcptrail/processor/store"
	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

// columns are the findings columns the Writer fills, in the table's order.
// event_ids (not carried by detector.Finding) and inserted_at take their
// defaults.
var columns = []string{
	"finding_id", "ts", "session", "rule", "severity", "title", "call_ids",
	"evidence", "host", "server_name", "client_name",
}

// Columns returns the names of the findings columns the Writer inserts, in
// order.
func Columns() []string { return append([]string(nil), columns...) }

// Writer inserts findings into the findings table of one database. It is
// safe for concurrent use if its connection is.
type Writer struct {
	conn   driver.Conn
	table  string
	insert string
}

// NewWriter returns a Writer into database's findings table (on a cluster,
// the Distributed table of that name). An empty database means
// schemas/clickhouse.DefaultDatabase. Open conn with processor/store.Open.
func NewWriter(conn driver.Conn, database string) (*Writer, error) {
	if database == "" {
		database = chschema.DefaultDatabase
	}
	if !store.ValidIdent(database) {
		return nil, fmt.Errorf("findingstore: database name %q: want letters, digits and _", database)
	}
	table := database + ".findings"
	return &Writer{
		conn:   conn,
		table:  table,
		insert: "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ")",
	}, nil
}

// Insert writes findings as one block, with an insert deduplication token
// derived from their content: the same findings written again in the same
// batch are dropped by the server, and any other repeat collapses by
// finding_id (see the package doc). An empty slice is a no-op.
func (w *Writer) Insert(ctx context.Context, findings []detector.Finding) error {
	n := len(findings)
	if n == 0 {
		return nil
	}
	var (
		ids      = make([]uint64, n)
		ts       = make([]time.Time, 0, n)
		sessions = make([]string, n)
		rules    = make([]string, n)
		sevs     = make([]string, n)
		titles   = make([]string, n)
		calls    = make([][]string, n)
		evidence = make([]string, n)
		hosts    = make([]string, n)
		servers  = make([]string, n)
		clients  = make([]string, n)
		token    = xxhash.New()
	)
	for i := range findings {
		f := &findings[i]
		sev, err := f.Severity.MarshalText()
		if err != nil {
			return fmt.Errorf("findingstore: finding %d (%s, session %s): %w", f.ID, f.Rule, f.Session, err)
		}
		ev := f.Evidence
		if ev == nil {
			ev = []detector.Evidence{}
		}
		evJSON, err := json.Marshal(ev, json.Deterministic(true))
		if err != nil {
			return fmt.Errorf("findingstore: finding %d (%s, session %s): encode evidence: %w", f.ID, f.Rule, f.Session, err)
		}
		callIDs := f.CallIDs
		if callIDs == nil {
			callIDs = []string{}
		}
		ids[i], sessions[i], rules[i], sevs[i], titles[i] = f.ID, f.Session, f.Rule, string(sev), f.Title
		ts = append(ts, f.TS.UTC())
		calls[i], evidence[i] = callIDs, string(evJSON)
		hosts[i], servers[i], clients[i] = f.Host, f.Server, f.Client

		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], f.ID)
		_, _ = token.Write(b[:])
		binary.LittleEndian.PutUint64(b[:], uint64(f.TS.UnixNano()))
		_, _ = token.Write(b[:])
		for _, s := range append([]string{f.Session, f.Rule, string(sev), f.Title, string(evJSON), f.Host, f.Server, f.Client}, callIDs...) {
			_, _ = token.WriteString(s)
			_, _ = token.Write([]byte{0})
		}
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"insert_deduplication_token": fmt.Sprintf("findings-%016x-%d", token.Sum64(), n),
	}))
	return store.InsertColumns(ctx, w.conn, w.insert, fmt.Sprintf("findingstore: insert %d findings into %s", n, w.table), columns,
		[]any{ids, ts, sessions, rules, sevs, titles, calls, evidence, hosts, servers, clients})
}
