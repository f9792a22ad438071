package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/mcptrail/mcptrail/internal/chdbtest"
	"github.com/mcptrail/mcptrail/processor"
	"github.com/mcptrail/mcptrail/schemas"
	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

const devPath = "../../../shared/datasets/agentdojo-dev/agentdojo-dev.capture.jsonl"

// TestEventColumnsMatchStruct checks that eventColumns takes the fields of
// processor.Columns one by one, in the struct's order.
func TestEventColumnsMatchStruct(t *testing.T) {
	var c processor.Columns
	v := reflect.ValueOf(&c).Elem()
	if v.NumField() != len(eventColumns) {
		t.Fatalf("processor.Columns has %d fields, the writer inserts %d columns", v.NumField(), len(eventColumns))
	}
	for i := range v.NumField() {
		f := v.Field(i)
		f.Set(reflect.MakeSlice(f.Type(), 1, 1))
	}
	for i, ec := range eventColumns {
		got := reflect.ValueOf(ec.get(&c))
		if got.Type() != v.Field(i).Type() || got.Pointer() != v.Field(i).Pointer() {
			t.Errorf("column %d %s is filled from the wrong field; want Columns.%s", i, ec.name, v.Type().Field(i).Name)
		}
	}
}

// openBridge starts the chDB bridge and connects with Open over HTTP.
func openBridge(t *testing.T) (driver.Conn, string) {
	t.Helper()
	b := chdbtest.Start(t)
	url := "http://" + b.Addr() + "/"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, url
}

func queryUint(t *testing.T, conn driver.Conn, q string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// readBatches normalizes the capture file at path into batches of size rows.
func readBatches(t *testing.T, path string, size int) (batches []*processor.Columns, records int, rawBytes int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("dev data set: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	n := processor.NewNormalizer(0)
	r := schemas.NewReader(f)
	cur := &processor.Columns{}
	var rec schemas.Record // NextInto gives each line a fresh message, which the rows keep
	for {
		err := r.NextInto(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		records++
		n.Add(&rec, cur)
		if cur.Len() >= size {
			batches = append(batches, cur)
			cur = &processor.Columns{}
		}
	}
	if cur.Len() > 0 {
		batches = append(batches, cur)
	}
	return batches, records, st.Size()
}

func TestDevSetIntoClickHouse(t *testing.T) {
	start := time.Now()
	batches, records, rawBytes := readBatches(t, devPath, 5000)
	conn, _ := openBridge(t)
	ctx := context.Background()
	opts := chschema.Options{}
	ex := NewExecutor(conn, opts)
	for i, want := range []int{5, 0} {
		n, err := chschema.Apply(ctx, ex, opts, func(s string) { t.Log(s) })
		if err != nil {
			t.Fatalf("apply #%d: %v", i+1, err)
		}
		ms, _ := chschema.Migrations()
		if i == 0 {
			want = len(ms)
		}
		if n != want {
			t.Fatalf("apply #%d applied %d migrations, want %d", i+1, n, want)
		}
	}

	t.Run("columns match the table", func(t *testing.T) {
		rows, err := conn.Query(ctx, "SELECT name, default_kind FROM system.columns WHERE database = 'mcptrail' AND table = 'events' ORDER BY position")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		ours := EventColumns()
		var inTable []string
		for rows.Next() {
			var name, kind string
			if err := rows.Scan(&name, &kind); err != nil {
				t.Fatal(err)
			}
			if slices.Contains(ours, name) {
				inTable = append(inTable, name)
			} else if kind == "" {
				t.Errorf("column %s of events has no default and the writer does not fill it", name)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(inTable, ours) {
			t.Errorf("the writer's columns differ from the table's (in table order):\nwriter %v\ntable  %v", ours, inTable)
		}
	})

	w, err := NewWriter(conn, "")
	if err != nil {
		t.Fatal(err)
	}
	insertAll := func() {
		t.Helper()
		for i, b := range batches {
			if err := w.Insert(ctx, b, fmt.Sprintf("agentdojo-dev-batch-%d", i)); err != nil {
				t.Fatalf("batch %d: %v", i, err)
			}
		}
	}
	t0 := time.Now()
	insertAll()
	t.Logf("inserted %d records as %d batches in %v", records, len(batches), time.Since(t0).Round(time.Millisecond))

	const count = "SELECT count() FROM mcptrail.events"
	if n := queryUint(t, conn, count); n != uint64(records) {
		t.Fatalf("%d rows in events, want %d (one per JSON-RPC message)", n, records)
	}
	sumBytes := queryUint(t, conn, "SELECT sum(msg_bytes) FROM mcptrail.events")
	rollupBytes := queryUint(t, conn, "SELECT sum(bytes) FROM mcptrail.session_summary")
	if rollupBytes != sumBytes {
		t.Errorf("session_summary bytes %d, events msg_bytes %d", rollupBytes, sumBytes)
	}

	insertAll() // a retry of every batch with its token: all dropped
	if n := queryUint(t, conn, count); n != uint64(records) {
		t.Errorf("after re-inserting with the same tokens: %d rows, want %d", n, records)
	}
	if n := queryUint(t, conn, count+" FINAL"); n != uint64(records) {
		t.Errorf("count FINAL: %d rows, want %d", n, records)
	}
	if n := queryUint(t, conn, "SELECT sum(bytes) FROM mcptrail.session_summary"); n != sumBytes {
		t.Errorf("after the retry, session_summary bytes %d, want %d (the rollup counted the retried blocks)", n, sumBytes)
	}

	for _, q := range []string{
		"SELECT count() FROM mcptrail.session_summary",
		"SELECT count() FROM mcptrail.token_usage",
		"SELECT count() FROM mcptrail.tool_hourly_stats",
		"SELECT count() FROM mcptrail.tool_definitions",
	} {
		n := queryUint(t, conn, q)
		t.Logf("%s: %d", q, n)
		if n == 0 && q != "SELECT count() FROM mcptrail.token_usage" {
			t.Errorf("%s: no rows", q)
		}
	}
	if n := queryUint(t, conn, "SELECT sum(messages) FROM mcptrail.session_summary"); n != uint64(records) {
		t.Errorf("session_summary counts %d messages, want %d", n, records)
	}

	// A value survives the trip: the params of one tools/call request.
	for i, b := range batches[0].Method {
		if b == "tools/call" && batches[0].Kind[i] == "request" {
			var params string
			q := fmt.Sprintf("SELECT params FROM mcptrail.events WHERE event_id = %d", batches[0].EventID[i])
			if err := conn.QueryRow(ctx, q).Scan(&params); err != nil {
				t.Fatal(err)
			}
			if params != string(batches[0].Params[i]) {
				t.Errorf("event %d: params %q, want %q", batches[0].EventID[i], params, batches[0].Params[i])
			}
			break
		}
	}

	// The same rows under a new token are stored (the token, not only the
	// block hash, decides), and ReplacingMergeTree collapses them.
	if err := w.Insert(ctx, batches[0], "agentdojo-dev-replay-0"); err != nil {
		t.Fatal(err)
	}
	if n, want := queryUint(t, conn, count), uint64(records+batches[0].Len()); n != want {
		t.Errorf("after a replay under a new token: %d rows, want %d", n, want)
	}
	if n := queryUint(t, conn, count+" FINAL"); n != uint64(records) {
		t.Errorf("count FINAL after the replay: %d rows, want %d", n, records)
	}
	if err := conn.Exec(ctx, "OPTIMIZE TABLE mcptrail.events FINAL"); err != nil {
		t.Fatal(err)
	}
	if n := queryUint(t, conn, count); n != uint64(records) {
		t.Errorf("after OPTIMIZE FINAL: %d rows, want %d", n, records)
	}
	var compressed, uncompressed, onDisk, parts uint64
	if err := conn.QueryRow(ctx, `SELECT sum(data_compressed_bytes), sum(data_uncompressed_bytes), sum(bytes_on_disk), count()
		FROM system.parts WHERE database = 'mcptrail' AND table = 'events' AND active`).Scan(&compressed, &uncompressed, &onDisk, &parts); err != nil {
		t.Fatal(err)
	}
	t.Logf("events: %d bytes on disk in %d parts (column data %d compressed, %d uncompressed; the rest is marks, primary and skip indexes)",
		onDisk, parts, compressed, uncompressed)
	t.Logf("raw capture %d bytes: on-disk/raw = 1/%.1f, compressed column data/raw = 1/%.1f (goal <= 1/8)",
		rawBytes, float64(rawBytes)/float64(onDisk), float64(rawBytes)/float64(compressed))
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

func TestWriterRejectsRaggedColumns(t *testing.T) {
	w, err := NewWriter(nil, "mcptrail")
	if err != nil {
		t.Fatal(err)
	}
	c := &processor.Columns{EventID: []uint64{1}}
	if err := w.Insert(context.Background(), c, ""); err == nil {
		t.Fatal("no error for a batch with empty columns")
	}
	if _, err := NewWriter(nil, "bad-name"); err == nil {
		t.Fatal("no error for a bad database name")
	}
}
