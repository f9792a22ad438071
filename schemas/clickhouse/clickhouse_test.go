package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fakeExec records statements and keeps schema_migrations in memory.
type fakeExec struct {
	stmts   []string
	applied map[int]string
	failOn  string // Exec fails on a statement containing this
}

func (f *fakeExec) Exec(_ context.Context, q string) error {
	if f.failOn != "" && strings.Contains(q, f.failOn) {
		return errors.New("boom")
	}
	f.stmts = append(f.stmts, q)
	if m := regexp.MustCompile(`INSERT INTO \w+\.schema_migrations .* VALUES \((\d+), '[^']*', '([0-9a-f]+)'\)`).FindStringSubmatch(q); m != nil {
		v, _ := strconv.Atoi(m[1])
		f.applied[v] = m[2]
	}
	return nil
}

func (f *fakeExec) AppliedVersions(context.Context) (map[int]string, error) {
	out := map[int]string{}
	for k, v := range f.applied {
		out[k] = v
	}
	return out, nil
}

func TestMigrationsOrdered(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 5 {
		t.Fatalf("%d migrations, want at least 5", len(ms))
	}
	for i, m := range ms {
		if m.Version != i+1 || len(m.Checksum) != 64 || m.Name[:4] != fmt.Sprintf("%04d", m.Version) {
			t.Errorf("migration %d: %s version %d", i, m.Name, m.Version)
		}
	}
}

func TestApplyIdempotent(t *testing.T) {
	ctx := context.Background()
	f := &fakeExec{applied: map[int]string{}}
	var logs []string
	n, err := Apply(ctx, f, Options{}, func(s string) { logs = append(logs, s) })
	ms, _ := Migrations()
	if err != nil || n != len(ms) {
		t.Fatalf("Apply = %d, %v; want %d", n, err, len(ms))
	}
	if !strings.HasPrefix(f.stmts[0], "CREATE DATABASE IF NOT EXISTS mcptrail") {
		t.Errorf("first statement %q, want the bootstrap", f.stmts[0])
	}
	// Order: each migration's record comes after its statements, in
	// version order.
	last := 0
	for _, s := range f.stmts {
		if m := regexp.MustCompile(`schema_migrations .* VALUES \((\d+),`).FindStringSubmatch(s); m != nil {
			if m[1] != strconv.Itoa(last+1) {
				t.Errorf("recorded version %s after %d", m[1], last)
			}
			last++
		}
	}
	before := len(f.stmts)
	n, err = Apply(ctx, f, Options{}, nil)
	if err != nil || n != 0 {
		t.Fatalf("second Apply = %d, %v; want 0, nil", n, err)
	}
	boot, _ := BootstrapStatements(Options{})
	if len(f.stmts)-before != len(boot) {
		t.Errorf("second Apply ran %d statements, want only the %d bootstrap ones", len(f.stmts)-before, len(boot))
	}
	if len(logs) == 0 {
		t.Error("no log lines")
	}
}

func TestApplyPartial(t *testing.T) {
	ctx := context.Background()
	f := &fakeExec{applied: map[int]string{}, failOn: "tool_hourly_mv"}
	n, err := Apply(ctx, f, Options{}, nil)
	if err == nil || !strings.Contains(err.Error(), "0003_rollups") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Apply error %v, want one naming 0003_rollups", err)
	}
	if n != 2 || len(f.applied) != 2 {
		t.Fatalf("applied %d (recorded %d) before the failure, want 2", n, len(f.applied))
	}
	f.failOn = ""
	ms, _ := Migrations()
	n, err = Apply(ctx, f, Options{}, nil)
	if err != nil || n != len(ms)-2 {
		t.Fatalf("resumed Apply = %d, %v; want %d", n, err, len(ms)-2)
	}
}

func TestApplyRefusesChangedChecksum(t *testing.T) {
	ms, _ := Migrations()
	f := &fakeExec{applied: map[int]string{1: ms[0].Checksum, 2: strings.Repeat("0", 64)}}
	n, err := Apply(context.Background(), f, Options{}, nil)
	if err == nil || !strings.Contains(err.Error(), "0002_tool_catalog") || n != 0 {
		t.Fatalf("Apply = %d, %v; want a refusal naming 0002_tool_catalog", n, err)
	}
	for _, s := range f.stmts {
		if !strings.Contains(s, "IF NOT EXISTS mcptrail.schema_migrations") && !strings.HasPrefix(s, "CREATE DATABASE") {
			t.Errorf("ran %q before refusing", s)
		}
	}
	f = &fakeExec{applied: map[int]string{99: strings.Repeat("0", 64)}}
	if _, err := Apply(context.Background(), f, Options{}, nil); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("Apply on a newer database: %v", err)
	}
}

func TestOptionsValidated(t *testing.T) {
	for _, o := range []Options{{Database: "a;DROP"}, {Cluster: "x y"}, {RetentionDays: -1}} {
		if _, err := Apply(context.Background(), &fakeExec{applied: map[int]string{}}, o, nil); err == nil {
			t.Errorf("Apply accepted %+v", o)
		}
	}
}

func TestSplit(t *testing.T) {
	got := Split("-- header;\nCREATE TABLE a\n(x UInt8);\n\n-- only a comment\n;\nSELECT 'a;b'\n;")
	want := []string{"CREATE TABLE a\n(x UInt8)", "SELECT 'a;b'"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Split = %q, want %q", got, want)
	}
}

// Every statement is idempotent, so a half-applied migration can run again.
func TestStatementsIdempotent(t *testing.T) {
	for _, o := range []Options{{}, {Cluster: "c1"}} {
		ms, _ := Migrations()
		for _, m := range ms {
			stmts, err := m.Statements(o)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range stmts {
				if !regexp.MustCompile(`^(CREATE (TABLE|MATERIALIZED VIEW|VIEW|DATABASE) IF NOT EXISTS|(?s:ALTER TABLE .* IF (NOT )?EXISTS))`).MatchString(s) {
					t.Errorf("%s: not idempotent:\n%s", m.Name, s)
				}
				if strings.Contains(s, "{{") || strings.Contains(s, "}}") {
					t.Errorf("%s: unrendered placeholder:\n%s", m.Name, s)
				}
			}
		}
	}
}

func TestSingleNodeVariant(t *testing.T) {
	ms, _ := Migrations()
	for _, m := range ms {
		stmts, _ := m.Statements(Options{Database: "db1", RetentionDays: 90})
		for _, s := range stmts {
			for _, bad := range []string{"ON CLUSTER", "Replicated", "Distributed", "_local"} {
				if strings.Contains(s, bad) {
					t.Errorf("%s single node has %q:\n%s", m.Name, bad, s)
				}
			}
			if strings.HasPrefix(s, "CREATE TABLE IF NOT EXISTS db1.events") && !strings.Contains(s, "TTL toDateTime(ts) + INTERVAL 90 DAY DELETE") {
				t.Errorf("events TTL not 90 days:\n%s", s)
			}
		}
	}
}

func clusterStatements(t testing.TB) []string {
	t.Helper()
	o := Options{Database: "mcptrail", Cluster: "audit", RetentionDays: 180}
	all, err := BootstrapStatements(o)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := Migrations()
	for _, m := range ms {
		stmts, err := m.Statements(o)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, stmts...)
	}
	return all
}

var (
	createRE = regexp.MustCompile(`^CREATE (TABLE|MATERIALIZED VIEW|VIEW|DATABASE) IF NOT EXISTS ([\w.]+) ON CLUSTER ` + "`audit`")
	alterRE  = regexp.MustCompile(`^ALTER TABLE mcptrail\.\w+ ON CLUSTER ` + "`audit`")
	distRE   = regexp.MustCompile(`AS mcptrail\.(\w+)_local\nENGINE = Distributed\('audit', 'mcptrail', (\w+)_local, (.+)\)$`)
	fromRE   = regexp.MustCompile(`(?:FROM|TO) (mcptrail\.\w+)`)
)

// TestClusterVariant checks the cluster statements structurally: every
// statement ON CLUSTER, replicated local tables, a Distributed table per
// local table over the right one, views reading local tables.
func TestClusterVariant(t *testing.T) {
	locals, dists := map[string]bool{}, map[string]bool{}
	for _, s := range clusterStatements(t) {
		if alterRE.MatchString(s) {
			continue // checked by TestStatementsIdempotent
		}
		m := createRE.FindStringSubmatch(s)
		if m == nil {
			t.Errorf("not CREATE … IF NOT EXISTS … ON CLUSTER `audit`:\n%s", s)
			continue
		}
		kind, name := m[1], m[2]
		switch {
		case kind == "TABLE" && strings.HasSuffix(name, "_local"):
			if !regexp.MustCompile(`ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/\{shard\}/\{database\}/\{table\}', '\{replica\}'`).MatchString(s) {
				t.Errorf("%s: not a sharded Replicated*MergeTree:\n%s", name, s)
			}
			locals[strings.TrimSuffix(strings.TrimPrefix(name, "mcptrail."), "_local")] = true
		case kind == "TABLE" && strings.Contains(s, "Distributed("):
			d := distRE.FindStringSubmatch(s)
			if d == nil || d[1] != d[2] || "mcptrail."+d[1] != name {
				t.Errorf("%s: Distributed does not front its own _local table:\n%s", name, s)
				continue
			}
			if !locals[d[1]] {
				t.Errorf("%s: Distributed before (or without) its local table", name)
			}
			dists[d[1]] = true
		case kind == "TABLE" && name == "mcptrail.schema_migrations":
			if !strings.Contains(s, "ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/{table}', '{replica}', applied_at)") {
				t.Errorf("schema_migrations not one replicated table:\n%s", s)
			}
		case kind == "TABLE":
			t.Errorf("table %s is neither _local nor Distributed:\n%s", name, s)
		case kind == "MATERIALIZED VIEW":
			for _, ref := range fromRE.FindAllStringSubmatch(s, -1) {
				if !strings.HasSuffix(ref[1], "_local") {
					t.Errorf("%s reads or writes %s, want a _local table", name, ref[1])
				}
			}
		case kind == "VIEW":
			for _, ref := range fromRE.FindAllStringSubmatch(s, -1) {
				if strings.HasSuffix(ref[1], "_local") {
					t.Errorf("view %s reads %s, want the Distributed table", name, ref[1])
				}
			}
		}
	}
	for l := range locals {
		if !dists[l] {
			t.Errorf("%s_local has no Distributed table", l)
		}
	}
	if !dists["events"] || !strings.Contains(strings.Join(clusterStatements(t), "\n"), "events_local, xxHash64(session))") {
		t.Error("events not sharded by xxHash64(session)")
	}
}

// usersStatements is deployments/clickhouse/users.sql rendered with test
// values.
func usersStatements(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile("../../deployments/clickhouse/users.sql")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer("{{db}}", "mcptrail",
		"{{writer_password_sha256}}", strings.Repeat("ab", 32),
		"{{reader_password_sha256}}", strings.Repeat("cd", 32)).Replace(string(b))
	if strings.Contains(s, "{{") {
		t.Fatalf("users.sql has a placeholder the test does not know: %s", s[strings.Index(s, "{{"):][:40])
	}
	return Split(s)
}

// TestUsersSQL checks the privileges of users.sql: the writer can insert
// into the pipeline's tables and read schema_migrations, nothing else; the
// reader can only select, under a readonly=2 profile with limits.
func TestUsersSQL(t *testing.T) {
	stmts := usersStatements(t)
	var grants []string
	profiles := map[string]string{}
	for _, s := range stmts {
		if strings.HasPrefix(s, "GRANT") {
			grants = append(grants, s)
		}
		if m := regexp.MustCompile(`^CREATE SETTINGS PROFILE IF NOT EXISTS (\w+)`).FindStringSubmatch(s); m != nil {
			profiles[m[1]] = s
		}
		if strings.HasPrefix(s, "CREATE USER") && !strings.Contains(s, "IDENTIFIED WITH sha256_hash BY") {
			t.Errorf("user without a sha256_hash password:\n%s", s)
		}
	}
	writerTables := map[string]bool{}
	for _, g := range grants {
		m := regexp.MustCompile(`^GRANT (.+) ON (\S+) TO (\w+)$`).FindStringSubmatch(g)
		if m == nil {
			t.Errorf("unexpected grant form: %s", g)
			continue
		}
		privs, on, to := m[1], m[2], m[3]
		switch to {
		case "mcptrail_writer":
			switch {
			case privs == "INSERT":
				writerTables[on] = true
			case privs == "SELECT" && on == "mcptrail.schema_migrations":
			default:
				t.Errorf("writer gets more than INSERT / SELECT on schema_migrations: %s", g)
			}
		case "mcptrail_reader":
			if privs != "SELECT" {
				t.Errorf("reader gets more than SELECT: %s", g)
			}
		default:
			t.Errorf("grant to unknown user: %s", g)
		}
	}
	for _, tbl := range []string{"events", "findings", "tool_catalog", "pipeline_metrics", "chain_problems", "dead_letters"} {
		if !writerTables["mcptrail."+tbl] {
			t.Errorf("writer cannot insert into %s", tbl)
		}
	}
	r := profiles["mcptrail_reader_profile"]
	for _, want := range []string{"readonly = 2", "max_execution_time", "max_memory_usage"} {
		if !strings.Contains(r, want) {
			t.Errorf("reader profile lacks %s:\n%s", want, r)
		}
	}
	if !strings.Contains(profiles["mcptrail_writer_profile"], "deduplicate_blocks_in_dependent_materialized_views = 1") {
		t.Error("writer profile does not deduplicate blocks in materialized views")
	}
}
