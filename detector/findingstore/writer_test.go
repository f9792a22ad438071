package findingstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/mcptrail/mcptrail/detector"
	"github.com/mcptrail/mcptrail/internal/chdbtest"
	"github.com/mcptrail/mcptrail/processor/store"
	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 123456000, time.UTC)

// migrated starts the chDB bridge, connects with store.Open and applies
// every migration, as `mcptrail migrate` does.
func migrated(t *testing.T) driver.Conn {
	t.Helper()
	b := chdbtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := store.Open(ctx, "http://"+b.Addr()+"/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	opts := chschema.Options{}
	if _, err := chschema.Apply(context.Background(), store.NewExecutor(conn, opts), opts, func(string) {}); err != nil {
		t.Fatal(err)
	}
	return conn
}

func testFindings() []detector.Finding {
	mk := func(session, rule string, sev detector.Severity, offset time.Duration, calls ...string) detector.Finding {
		return detector.Finding{
			ID: detector.FindingID(rule, session, "", calls), TS: t0.Add(offset), Session: session, Rule: rule,
			Severity: sev, Title: rule + " in " + session, CallIDs: calls,
			Evidence: []detector.Evidence{{What: "argument repeats result text", CallID: calls[0], Tool: "fetch", Excerpt: "AKIA[REDACTED:aws:0123456789ab]", Hash: "9f86d081884c7d65"}},
			Host:     "laptop-7", Server: "filesystem", Client: "claude-code",
		}
	}
	return []detector.Finding{
		mk("s1", "exfil.url-args", detector.High, 0, "7", "8"),
		mk("s1", "injection.follow", detector.Critical, time.Second, "9"),
		mk("s2", "tool.rug-pull", detector.Medium, 2*time.Second, "1"),
		{ID: detector.FindingID("token.replay", "s3", "tok", nil), TS: t0, Session: "s3", Rule: "token.replay", Severity: detector.Info, Title: "no calls, no evidence"},
	}
}

func count(t *testing.T, conn driver.Conn, q string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestWriterOnClickHouse(t *testing.T) {
	conn := migrated(t)
	ctx := context.Background()

	t.Run("columns match the table", func(t *testing.T) {
		rows, err := conn.Query(ctx, "SELECT name, default_kind FROM system.columns WHERE database = 'mcptrail' AND table = 'findings' ORDER BY position")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var inTable []string
		for rows.Next() {
			var name, kind string
			if err := rows.Scan(&name, &kind); err != nil {
				t.Fatal(err)
			}
			if slices.Contains(columns, name) {
				inTable = append(inTable, name)
			} else if kind == "" && name != "event_ids" { // arrays default to empty
				t.Errorf("column %s of findings has no default and the writer does not fill it", name)
			}
		}
		if !slices.Equal(inTable, columns) {
			t.Errorf("writer columns %v, table order %v", columns, inTable)
		}
	})

	w, err := NewWriter(conn, "")
	if err != nil {
		t.Fatal(err)
	}
	fs := testFindings()
	unique := uint64(len(fs))
	const total = "SELECT count() FROM mcptrail.findings"
	must(t, w.Insert(ctx, fs))
	must(t, w.Insert(ctx, fs)) // a retried batch: dropped by its token
	if n := count(t, conn, total); n != unique {
		t.Errorf("after inserting the same batch twice: %d rows, want %d", n, unique)
	}
	// The same findings batched differently (a replay): other tokens, so
	// the rows land, and FINAL collapses them by finding_id.
	must(t, w.Insert(ctx, fs[:2]))
	must(t, w.Insert(ctx, fs[2:]))
	if n := count(t, conn, total+" FINAL"); n != unique {
		t.Errorf("count FINAL after a replay: %d, want %d", n, unique)
	}
	t.Logf("after a replay: %d rows before merges, %d with FINAL", count(t, conn, total), unique)
	if n := count(t, conn, "SELECT uniqExact(finding_id) FROM mcptrail.findings"); n != unique {
		t.Errorf("%d distinct ids, want %d", n, unique)
	}

	// A raised severity replaces the row (the later inserted_at wins).
	raised := fs[2]
	raised.Severity = detector.High
	time.Sleep(5 * time.Millisecond) // a later inserted_at (millisecond resolution)
	must(t, w.Insert(ctx, []detector.Finding{raised}))
	var sev string
	if err := conn.QueryRow(ctx, "SELECT toString(severity) FROM mcptrail.findings FINAL WHERE session = 's2'").Scan(&sev); err != nil {
		t.Fatal(err)
	}
	if sev != "high" {
		t.Errorf("after re-inserting with a raised severity: %s, want high", sev)
	}
	if n := count(t, conn, total+" FINAL"); n != unique {
		t.Errorf("count FINAL after the raise: %d, want %d", n, unique)
	}

	// The stored values.
	var (
		id                              uint64
		ts                              time.Time
		rule, title, what, excerpt, srv string
		calls                           []string
	)
	err = conn.QueryRow(ctx, `SELECT finding_id, ts, rule, title, call_ids, JSONExtractString(evidence, 1, 'what'),
		JSONExtractString(evidence, 1, 'excerpt'), server_name FROM mcptrail.findings FINAL WHERE session = 's1' AND rule = 'exfil.url-args'`).
		Scan(&id, &ts, &rule, &title, &calls, &what, &excerpt, &srv)
	if err != nil {
		t.Fatal(err)
	}
	f := fs[0]
	if id != f.ID || !ts.Equal(f.TS) || rule != f.Rule || title != f.Title || !slices.Equal(calls, f.CallIDs) ||
		what != f.Evidence[0].What || excerpt != f.Evidence[0].Excerpt || srv != f.Server {
		t.Errorf("stored row: id %d ts %v rule %s title %q calls %v evidence %q/%q server %s; want %+v", id, ts, rule, title, calls, what, excerpt, srv, f)
	}
	var ev string
	if err := conn.QueryRow(ctx, "SELECT evidence FROM mcptrail.findings FINAL WHERE session = 's3'").Scan(&ev); err != nil {
		t.Fatal(err)
	}
	if ev != "[]" {
		t.Errorf("evidence of a finding without any: %q, want []", ev)
	}
}

func TestWriterErrors(t *testing.T) {
	if _, err := NewWriter(nil, "bad-name"); err == nil {
		t.Error("NewWriter accepted a bad database name")
	}
	w, err := NewWriter(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Insert(context.Background(), nil); err != nil {
		t.Errorf("empty insert: %v", err)
	}
	bad := testFindings()[:1]
	bad[0].Severity = 9
	if err := w.Insert(context.Background(), bad); err == nil {
		t.Error("a severity out of range was accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
