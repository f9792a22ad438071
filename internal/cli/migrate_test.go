package cli

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/mcptrail/mcptrail/internal/chdbtest"
)

// runCLI runs mcptrail in process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestMigrateBridge(t *testing.T) {
	b := chdbtest.Start(t)
	conn := b.Open(t)
	url := "http://" + b.Addr() + "/"
	countDB := func(db string) uint64 {
		t.Helper()
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.tables WHERE database = '"+db+"'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	code, out, errOut := runCLI(t, "migrate", "--clickhouse", url, "--dry-run")
	if code != 0 || !strings.Contains(out, "CREATE TABLE IF NOT EXISTS mcptrail.events\n") ||
		!strings.Contains(out, "-- would apply 6 migrations (versions 1, 2, 3, 4, 5, 6), database mcptrail\n") {
		t.Fatalf("dry run on a new server: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if n := countDB("mcptrail"); n != 0 {
		t.Fatalf("the dry run created %d tables", n)
	}

	code, out, errOut = runCLI(t, "migrate", "--clickhouse", url)
	if code != 0 || out != "applied 6 migrations (versions 1, 2, 3, 4, 5, 6), database mcptrail\n" {
		t.Fatalf("first run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"migrate: applying 0001_events (1 statements)\n", "migrate: applying 0005_pipeline", "migrate: schema at version 6 (6 applied now)\n"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("first run: progress lacks %q:\n%s", want, errOut)
		}
	}
	tables := countDB("mcptrail")
	if tables < 10 {
		t.Errorf("%d tables in mcptrail after migrate", tables)
	}

	code, out, errOut = runCLI(t, "migrate", "--clickhouse", url)
	if code != 0 || out != "applied 0 migrations, database mcptrail is up to date (schema version 6)\n" || strings.Contains(errOut, "applying") {
		t.Fatalf("second run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if n := countDB("mcptrail"); n != tables {
		t.Errorf("second run: %d tables, was %d", n, tables)
	}

	code, out, errOut = runCLI(t, "migrate", "--clickhouse", url, "--dry-run")
	if code != 0 || strings.Contains(out, "mcptrail.events") || !strings.Contains(out, "-- would apply 0 migrations") {
		t.Fatalf("dry run on a migrated server: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "migrate", "--clickhouse", url, "--database", "audit", "--retention-days", "30")
	if code != 0 || !strings.HasSuffix(out, "database audit\n") {
		t.Fatalf("--database audit: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	var ddl string
	if err := conn.QueryRow(context.Background(), "SELECT create_table_query FROM system.tables WHERE database = 'audit' AND name = 'events'").Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ddl, "toIntervalDay(30)") && !strings.Contains(ddl, "INTERVAL 30 DAY") {
		t.Errorf("audit.events has not the 30-day TTL:\n%s", ddl)
	}
}

func TestMigrateDryRunOffline(t *testing.T) {
	code, out, errOut := runCLI(t, "migrate", "--dry-run", "--cluster", "prod", "--database", "audit")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"CREATE DATABASE IF NOT EXISTS audit ON CLUSTER `prod`;\n",
		"CREATE TABLE IF NOT EXISTS audit.events_local ON CLUSTER `prod`",
		"INSERT INTO audit.schema_migrations (version, name, checksum) VALUES (5, '0005_pipeline', ",
		"-- would apply 6 migrations (versions 1, 2, 3, 4, 5, 6), database audit\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q", want)
		}
	}
}

func TestMigrateErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate"}, "--clickhouse URL is required"},
		{[]string{"migrate", "--clickhouse", "mysql://u:hunter2@h/"}, `scheme "mysql"`},
		{[]string{"migrate", "--clickhouse", "http://u:hunter2@" + closed + "/"}, "connect to " + closed + " (http)"},
		{[]string{"migrate", "--dry-run", "--database", "no-dash"}, `database name "no-dash"`},
		{[]string{"migrate", "--dry-run", "--cluster", "a b"}, `cluster name "a b"`},
		{[]string{"migrate", "--dry-run", "--retention-days", "0"}, "--retention-days must be a positive number"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != ExitFailure || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "hunter2") {
			t.Errorf("%v: exit %d, stderr %q: want exit 2 and %q, without the password", tc.args, code, errOut, tc.want)
		}
	}
}
