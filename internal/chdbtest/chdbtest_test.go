package chdbtest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/mcptrail/mcptrail/internal/chdbtest"
)

const eventsDDL = `CREATE TABLE IF NOT EXISTS events (
	id     UInt64,
	ts     DateTime64(6, 'UTC'),
	kind   LowCardinality(String),
	attrs  Map(String, String),
	note   Nullable(String),
	tags   Array(String)
) ENGINE = MergeTree ORDER BY (kind, ts, id)`

type event struct {
	id    uint64
	ts    time.Time
	kind  string
	attrs map[string]string
	note  *string
	tags  []string
}

var base = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

func mkEvent(i int) event {
	e := event{
		id:    uint64(i),
		ts:    base.Add(time.Duration(i) * time.Microsecond * 1001),
		kind:  []string{"request", "response", "notification"}[i%3],
		attrs: map[string]string{"method": fmt.Sprintf("tools/call-%d", i%7), "idx": fmt.Sprint(i)},
		tags:  []string{"a", fmt.Sprintf("t%d", i%5)},
	}
	if i%2 == 0 {
		s := fmt.Sprintf("note-%d \u00e9\t'\"\\", i)
		e.note = &s
	}
	if i%10 == 0 {
		e.tags = []string{}
	}
	return e
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func insertEvents(ctx context.Context, t testing.TB, conn driver.Conn, table string, from, n int) {
	t.Helper()
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" (id, ts, kind, attrs, note, tags)")
	if err != nil {
		t.Fatalf("PrepareBatch: %v", err)
	}
	for i := from; i < from+n; i++ {
		e := mkEvent(i)
		if err := batch.Append(e.id, e.ts, e.kind, e.attrs, e.note, e.tags); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func count(ctx context.Context, t testing.TB, conn driver.Conn, table string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestBridge(t *testing.T) {
	b := chdbtest.Start(t)
	conn := b.Open(t)
	ctx := ctxT(t)

	t.Run("Ping", func(t *testing.T) {
		if err := conn.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := conn.ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("server: %s", v)
		if v.Version.Major < 24 {
			t.Fatalf("unexpected version %v", v.Version)
		}
	})

	if err := conn.Exec(ctx, eventsDDL); err != nil {
		t.Fatalf("create: %v", err)
	}

	t.Run("BatchInsert10k", func(t *testing.T) {
		insertEvents(ctx, t, conn, "events", 0, 10_000)
		if n := count(ctx, t, conn, "events"); n != 10_000 {
			t.Fatalf("count = %d, want 10000", n)
		}
	})

	t.Run("TypedRoundTrip", func(t *testing.T) {
		rows, err := conn.Query(ctx, "SELECT id, ts, kind, attrs, note, tags FROM events WHERE id < 1000 ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		types := rows.ColumnTypes()
		if got := types[1].DatabaseTypeName(); got != "DateTime64(6, 'UTC')" {
			t.Errorf("ts type = %q", got)
		}
		i := 0
		for rows.Next() {
			var got event
			if err := rows.Scan(&got.id, &got.ts, &got.kind, &got.attrs, &got.note, &got.tags); err != nil {
				t.Fatal(err)
			}
			want := mkEvent(i)
			if got.id != want.id || !got.ts.Equal(want.ts) || got.ts.UnixMicro() != want.ts.UnixMicro() ||
				got.kind != want.kind || !maps.Equal(got.attrs, want.attrs) || !slices.Equal(got.tags, want.tags) ||
				(got.note == nil) != (want.note == nil) || (got.note != nil && *got.note != *want.note) {
				t.Fatalf("row %d: got %+v, want %+v", i, got, want)
			}
			if got.ts.Location().String() != "UTC" {
				t.Fatalf("row %d: location %v", i, got.ts.Location())
			}
			i++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if i != 1000 {
			t.Fatalf("scanned %d rows, want 1000", i)
		}
	})

	t.Run("ServerSideParams", func(t *testing.T) {
		var n uint64
		var s string
		err := conn.QueryRow(ctx, "SELECT {n:UInt64} + 1, {s:String}",
			clickhouse.Named("n", "41"), clickhouse.Named("s", "it's a\ttab")).Scan(&n, &s)
		if err != nil {
			t.Fatal(err)
		}
		if n != 42 || s != "it's a\ttab" {
			t.Fatalf("got %d %q", n, s)
		}
	})

	t.Run("Settings", func(t *testing.T) {
		sctx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"max_threads": 3}))
		var v string
		if err := conn.QueryRow(sctx, "SELECT toString(getSetting('max_threads'))").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != "3" {
			t.Fatalf("max_threads = %s, want 3", v)
		}
		if err := conn.QueryRow(ctx, "SELECT toString(getSetting('max_threads'))").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v == "3" {
			t.Fatalf("per-query setting leaked into the next query")
		}
	})

	t.Run("Deduplication", func(t *testing.T) {
		if err := conn.Exec(ctx, strings.Replace(strings.Replace(eventsDDL, "events", "events_dedup", 1),
			"ORDER BY (kind, ts, id)", "ORDER BY (kind, ts, id) SETTINGS non_replicated_deduplication_window = 100", 1)); err != nil {
			t.Fatal(err)
		}
		withToken := func(tok string) context.Context {
			return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplication_token": tok}))
		}
		insertEvents(withToken("tok-1"), t, conn, "events_dedup", 0, 500)
		insertEvents(withToken("tok-1"), t, conn, "events_dedup", 0, 500)
		if n := count(ctx, t, conn, "events_dedup"); n != 500 {
			t.Fatalf("same token twice: count = %d, want 500", n)
		}
		insertEvents(withToken("tok-2"), t, conn, "events_dedup", 0, 500)
		if n := count(ctx, t, conn, "events_dedup"); n != 1000 {
			t.Fatalf("different token: count = %d, want 1000", n)
		}
	})

	t.Run("ErrorText", func(t *testing.T) {
		_, err := conn.Query(ctx, "SELECT * FROM no_such_table")
		if err == nil {
			t.Fatal("expected an error")
		}
		var ex *clickhouse.Exception
		if !errors.As(err, &ex) {
			t.Fatalf("error %T %v is not a *clickhouse.Exception", err, err)
		}
		if ex.Code != 60 || !strings.Contains(err.Error(), "no_such_table") {
			t.Fatalf("unexpected error: code=%d %v", ex.Code, err)
		}
		t.Logf("error surfaced as: %v", err)
		err = conn.Exec(ctx, "INSERT INTO events (id) VALUES ('not a number')")
		if err == nil || !errors.As(err, &ex) {
			t.Fatalf("exec: expected a ClickHouse exception, got %v", err)
		}
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO no_such_table")
		if err == nil {
			_ = batch.Abort()
			t.Fatal("PrepareBatch on a missing table succeeded")
		}
	})

	t.Run("SystemParts", func(t *testing.T) {
		if err := conn.Exec(ctx, "OPTIMIZE TABLE events FINAL"); err != nil {
			t.Fatal(err)
		}
		var parts, rowsN, bytesOnDisk uint64
		err := conn.QueryRow(ctx, `SELECT count(), sum(rows), sum(bytes_on_disk) FROM system.parts
			WHERE database = currentDatabase() AND table = 'events' AND active`).Scan(&parts, &rowsN, &bytesOnDisk)
		if err != nil {
			t.Fatal(err)
		}
		if parts == 0 || rowsN != 10_000 || bytesOnDisk == 0 {
			t.Fatalf("parts=%d rows=%d bytes_on_disk=%d", parts, rowsN, bytesOnDisk)
		}
		t.Logf("events: %d active parts, %d rows, %d bytes on disk", parts, rowsN, bytesOnDisk)
	})

	t.Run("GzipCompression", func(t *testing.T) {
		gz := b.Open(t, func(o *clickhouse.Options) {
			o.Compression = &clickhouse.Compression{Method: clickhouse.CompressionGZIP}
		})
		if err := gz.Exec(ctx, strings.Replace(eventsDDL, "events", "events_gz", 1)); err != nil {
			t.Fatal(err)
		}
		insertEvents(ctx, t, gz, "events_gz", 0, 1000)
		if n := count(ctx, t, gz, "events_gz"); n != 1000 {
			t.Fatalf("count = %d", n)
		}
	})

	t.Run("DeflateAndDatabase", func(t *testing.T) {
		if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS other"); err != nil {
			t.Fatal(err)
		}
		c := b.Open(t, func(o *clickhouse.Options) {
			o.Compression = &clickhouse.Compression{Method: clickhouse.CompressionDeflate}
			o.Auth.Database = "other"
		})
		if err := c.Exec(ctx, strings.Replace(eventsDDL, "events", "events_other", 1)); err != nil {
			t.Fatal(err)
		}
		insertEvents(ctx, t, c, "events_other", 0, 100)
		if n := count(ctx, t, conn, "other.events_other"); n != 100 {
			t.Fatalf("other.events_other = %d", n)
		}
		var db string
		if err := conn.QueryRow(ctx, "SELECT currentDatabase()").Scan(&db); err != nil || db != "default" {
			t.Fatalf("default connection database = %q, %v", db, err)
		}
	})

	t.Run("EmptyResult", func(t *testing.T) {
		rows, err := conn.Query(ctx, "SELECT id FROM events WHERE id > 1e12")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		if rows.Next() {
			t.Fatal("expected no rows")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("LZ4Rejected", func(t *testing.T) {
		// ClickHouse's own LZ4/ZSTD block compression is not implemented:
		// the bridge answers with a clear exception instead of garbage.
		c, err := clickhouse.Open(&clickhouse.Options{Protocol: clickhouse.HTTP, Addr: []string{b.Addr()},
			Compression: &clickhouse.Compression{Method: clickhouse.CompressionLZ4}})
		if err == nil {
			defer c.Close()
			err = c.Ping(ctx)
		}
		if err == nil || !strings.Contains(err.Error(), "not supported by the chDB bridge") {
			t.Fatalf("LZ4: want a 'not supported' error, got %v", err)
		}
	})

	t.Run("SurvivesRestart", func(t *testing.T) {
		before := count(ctx, t, conn, "events")
		b.Restart()
		// The existing pool must recover (ClickHouse went down and came back).
		var after uint64
		var err error
		for range 20 {
			if err = conn.QueryRow(ctx, "SELECT count() FROM events").Scan(&after); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("query after restart: %v", err)
		}
		if after != before {
			t.Fatalf("count after restart = %d, want %d", after, before)
		}
		fresh := b.Open(t)
		if n := count(ctx, t, fresh, "events_dedup"); n != 1000 {
			t.Fatalf("events_dedup after restart = %d", n)
		}
		insertEvents(ctx, t, fresh, "events", 10_000, 10)
		if n := count(ctx, t, conn, "events"); n != before+10 {
			t.Fatalf("count after insert post-restart = %d", n)
		}
	})
}

const benchDDL = `CREATE TABLE IF NOT EXISTS bench_events (
	id          UInt64,
	ts          DateTime64(6, 'UTC'),
	session_id  String,
	server      LowCardinality(String),
	method      LowCardinality(String),
	direction   LowCardinality(String),
	request_id  String,
	tool        Nullable(String),
	status      UInt16,
	latency_us  UInt64,
	bytes_in    UInt32,
	bytes_out   UInt32,
	attrs       Map(String, String),
	tags        Array(String),
	payload     String
) ENGINE = MergeTree ORDER BY (server, ts, id)`

func BenchmarkBatchInsert(b *testing.B) {
	br := chdbtest.Start(b)
	conn := br.Open(b)
	ctx := ctxT(b)
	if err := conn.Exec(ctx, benchDDL); err != nil {
		b.Fatal(err)
	}
	const batchRows = 10_000
	payload := strings.Repeat(`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}}`, 4)
	tool := "search"
	attrs := map[string]string{"client": "claude", "transport": "stdio"}
	tags := []string{"prod", "eu"}
	servers := []string{"fs", "git", "web", "db"}
	methods := []string{"tools/call", "tools/list", "resources/read", "initialize"}
	b.ResetTimer()
	start := time.Now()
	id := uint64(0)
	for b.Loop() {
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO bench_events")
		if err != nil {
			b.Fatal(err)
		}
		for i := range batchRows {
			id++
			var tp *string
			if i%3 == 0 {
				tp = &tool
			}
			if err := batch.Append(id, base.Add(time.Duration(id)*time.Microsecond), fmt.Sprintf("sess-%d", id%100),
				servers[i%4], methods[i%4], "c2s", fmt.Sprint(id), tp, uint16(200), uint64(i*7), uint32(512), uint32(2048),
				attrs, tags, payload); err != nil {
				b.Fatal(err)
			}
		}
		if err := batch.Send(); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(int(id))/elapsed.Seconds(), "rows/s")
	if n := count(ctx, b, conn, "bench_events"); n != id {
		b.Fatalf("count = %d, want %d", n, id)
	}
}
