package demo

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/chdbtest"
	"github.com/mcptrail/mcptrail/processor/store"
	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

// TestWarehouse runs the summary's queries on the real ClickHouse engine
// (chDB bridge) over a few rows.
func TestWarehouse(t *testing.T) {
	b := chdbtest.Start(t)
	conn := b.Open(t)
	ctx := context.Background()
	opts := chschema.Options{Database: "demo_wh", RetentionDays: chschema.DefaultRetentionDays}
	if _, err := chschema.Apply(ctx, store.NewExecutor(conn, opts), opts, nil); err != nil {
		t.Fatal(err)
	}
	w := &warehouse{conn: conn, db: "demo_wh"}

	const leaked = "AKIAIOSFODNN7EXAMPLE"
	now := time.Now().UTC().Truncate(time.Second)
	for _, q := range []string{
		// Two sessions: s1 lists tools and calls read_text_file twice (once
		// stored twice, as after a redelivery); s2 starts later and calls echo
		// with a leaked key.
		`INSERT INTO demo_wh.events (event_id, ts, session, server_name, kind, method, target, params, result) VALUES
		 (1, now64(6) - 10, 's1', 'filesystem', 'request', 'tools/list', '', '{}', ''),
		 (2, now64(6) - 9, 's1', 'filesystem', 'request', 'tools/call', 'read_text_file', '{"path":"/w/a"}', ''),
		 (2, now64(6) - 9, 's1', 'filesystem', 'request', 'tools/call', 'read_text_file', '{"path":"/w/a"}', ''),
		 (3, now64(6) - 8, 's1', 'filesystem', 'request', 'tools/call', 'read_text_file', '{"path":"/w/b"}', ''),
		 (4, now64(6) - 8, 's1', 'filesystem', 'result', 'tools/call', 'read_text_file', '', '{"content":"[REDACTED:aws_access_key_id:0123456789ab]"}'),
		 (5, now64(6) - 5, 's2', 'everything', 'request', 'tools/call', 'echo', '{"message":"` + leaked + `"}', '')`,
		`INSERT INTO demo_wh.findings (finding_id, ts, session, rule, severity, title, server_name) VALUES
		 (10, now64(6) - 8, 's1', 'exfil.sensitive-file-argument', 'high', 'A call names a credentials file', 'filesystem'),
		 (10, now64(6) - 8, 's1', 'exfil.sensitive-file-argument', 'high', 'A call names a credentials file', 'filesystem'),
		 (11, now64(6) - 5, 's2', 'tool.list-changed', 'low', 'A server announced that its tool list changed', 'everything')`,
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	if n, err := w.eventsStored(ctx); err != nil || n != 5 {
		t.Errorf("eventsStored = %d, %v; want 5 (a duplicate row counts once)", n, err)
	}
	sessions, err := w.sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 2 || sessions[0].ID != "s1" || sessions[1].ID != "s2" || !sessions[0].First.Before(sessions[1].First) {
		t.Errorf("sessions %+v, want s1 then s2", sessions)
	}
	if d := sessions[0].First.Sub(now); d < -time.Minute || d > time.Minute {
		t.Errorf("session s1 began at %v, want about %v", sessions[0].First, now)
	}
	inv, err := w.inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(inv.Servers, []string{"everything", "filesystem"}) || inv.ToolsUsed != 2 || inv.ToolCalls != 4 {
		t.Errorf("inventory %+v, want 2 servers, 2 tools, 4 calls (one stored twice)", inv)
	}
	findings, err := w.findings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 2 || findings[0].Rule != "exfil.sensitive-file-argument" || findings[0].Severity != "high" || findings[1].Session != "s2" || findings[1].Severity != "low" {
		t.Errorf("findings %+v, want the high one of s1 once, then the low one of s2", findings)
	}
	for _, tt := range []struct {
		values []string
		want   uint64
	}{
		{[]string{leaked}, 1},
		{[]string{"not-stored", leaked[4:]}, 1},
		{[]string{"0123456789abcdef-nowhere"}, 0},
	} {
		if n, err := w.secretsStored(ctx, tt.values); err != nil || n != tt.want {
			t.Errorf("secretsStored(%q) = %d, %v; want %d", tt.values, n, err, tt.want)
		}
	}
}
