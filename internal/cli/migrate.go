package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/spf13/cobra"

	"github.com/mcptrail/mcptrail/processor/store"
	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

// connectTimeout bounds connecting to ClickHouse; the migrations themselves
// run until done or interrupted.
const connectTimeout = 30 * time.Second

type migrateOptions struct {
	url           string
	database      string
	cluster       string
	retentionDays int
	dryRun        bool
}

func newMigrateCommand() *cobra.Command {
	var o migrateOptions
	cmd := &cobra.Command{
		Use:   "migrate --clickhouse URL",
		Short: "Create or upgrade the ClickHouse schema (database, events, rollups, findings)",
		Long: `migrate brings the mcptrail schema in ClickHouse up to date. It creates the
database and the schema_migrations ledger if needed, then applies, in order,
every embedded migration the ledger does not list, recording each one. Every
statement is idempotent, so running migrate again is safe: an up-to-date
database applies nothing, and a run that failed half way is simply run again.

It refuses to run when a migration applied earlier differs from the one built
into this binary, or when the database has a migration this binary does not
know (a newer mcptrail migrated it).

--clickhouse is the server URL: clickhouse://user:pass@host:9000 (or tcp://)
for the native protocol, http://host:8123 or https://host:8443 for the HTTP
interface. Query parameters are clickhouse-go DSN options, such as
secure=true, skip_verify=true, compress=lz4 or dial_timeout=10s. The schema's
database is --database, not the URL's path.

--cluster NAME creates the cluster variant: Replicated tables named *_local,
created ON CLUSTER NAME, behind Distributed tables with the public names.
--retention-days is the TTL of events, rollups and findings; it is fixed when
a table is created (change it later with ALTER TABLE ... MODIFY TTL).

--dry-run prints the statements that would run, as a SQL script, and changes
nothing. With --clickhouse it reads the ledger and prints only what is
pending; without it, it prints the full schema for a new database.

Progress goes to stderr, the summary to stdout. The exit code is 0 on
success and 2 on any error.`,
		Example: `  mcptrail migrate --clickhouse clickhouse://mcptrail:secret@ch1:9000
  mcptrail migrate --clickhouse https://mcptrail:secret@ch.example:8443 --cluster prod --retention-days 180
  mcptrail migrate --dry-run --cluster prod > schema.sql`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrate(cmd, &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "clickhouse", "", "ClickHouse URL (required unless --dry-run)")
	f.StringVar(&o.database, "database", chschema.DefaultDatabase, "database holding the mcptrail tables")
	f.StringVar(&o.cluster, "cluster", "", "ClickHouse cluster name: create the replicated, distributed variant ON CLUSTER")
	f.IntVar(&o.retentionDays, "retention-days", chschema.DefaultRetentionDays, "days kept by the TTL of events, rollups and findings")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the statements that would run and change nothing")
	return cmd
}

func runMigrate(cmd *cobra.Command, o *migrateOptions) error {
	if o.retentionDays <= 0 {
		return withCode(ExitFailure, "--retention-days must be a positive number of days, not %d", o.retentionDays)
	}
	if o.url == "" && !o.dryRun {
		return withCode(ExitFailure, "--clickhouse URL is required (for example clickhouse://user:pass@host:9000 or http://host:8123), unless --dry-run")
	}
	opts := chschema.Options{Database: o.database, Cluster: o.cluster, RetentionDays: o.retentionDays}
	if _, err := chschema.BootstrapStatements(opts); err != nil { // validates the names
		return withCode(ExitFailure, "%w", err)
	}
	ctx := cmd.Context()
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()

	var (
		ex    chschema.Executor
		where = "(no server)"
	)
	if o.url != "" {
		if po, err := store.ParseURL(o.url); err == nil {
			where = store.Describe(po)
		}
		cctx, cancel := context.WithTimeout(ctx, connectTimeout)
		conn, err := store.Open(cctx, o.url)
		cancel()
		if err != nil {
			return withCode(ExitFailure, "migrate: %w", err)
		}
		defer conn.Close()
		ex = store.NewExecutor(conn, opts)
	}

	rec, err := newRecordingExecutor(ex, opts, o.dryRun, out)
	if err != nil {
		return withCode(ExitFailure, "migrate: %w", err)
	}
	logTo := errOut
	prefix := "migrate: "
	if o.dryRun {
		logTo, prefix = out, "-- "
		fmt.Fprintf(out, "-- mcptrail migrate --dry-run: database %s, cluster %q, retention %d days, server %s\n\n",
			o.database, o.cluster, o.retentionDays, where)
	}
	n, err := chschema.Apply(ctx, rec, opts, func(s string) { fmt.Fprintf(logTo, "%s%s\n", prefix, s) })
	if err != nil {
		if ctx.Err() != nil {
			return withCode(ExitFailure, "migrate %s: interrupted after %d migrations: %w", where, n, err)
		}
		return withCode(ExitFailure, "migrate %s: %d migrations applied (versions %s) before the error: %w", where, n, versionList(rec.versions), err)
	}
	verb := "applied"
	if o.dryRun {
		verb = "would apply"
		out = commentWriter{out}
	}
	if n == 0 {
		fmt.Fprintf(out, "%s 0 migrations, database %s is up to date (schema version %d)\n", verb, o.database, rec.latest)
		return nil
	}
	fmt.Fprintf(out, "%s %d migrations (versions %s), database %s\n", verb, n, versionList(rec.versions), o.database)
	return nil
}

// recordingExecutor wraps the real Executor: it notes which versions Apply
// records, and in a dry run prints the statements instead of running them.
type recordingExecutor struct {
	inner    chschema.Executor // nil in a dry run without a server
	dryRun   bool
	out      io.Writer
	records  map[string]int // RecordStatement -> version
	latest   int
	versions []int
}

func newRecordingExecutor(inner chschema.Executor, opts chschema.Options, dryRun bool, out io.Writer) (*recordingExecutor, error) {
	ms, err := chschema.Migrations()
	if err != nil {
		return nil, err
	}
	r := &recordingExecutor{inner: inner, dryRun: dryRun, out: out, records: map[string]int{}}
	for _, m := range ms {
		s, err := chschema.RecordStatement(opts, m)
		if err != nil {
			return nil, err
		}
		r.records[s] = m.Version
		r.latest = max(r.latest, m.Version)
	}
	return r, nil
}

// Exec runs (or prints) the statement and notes a recorded version.
func (r *recordingExecutor) Exec(ctx context.Context, query string) error {
	if r.dryRun {
		if _, err := fmt.Fprintf(r.out, "%s;\n\n", query); err != nil {
			return fmt.Errorf("write statement: %w", err)
		}
	} else if err := r.inner.Exec(ctx, query); err != nil {
		return err
	}
	if v, ok := r.records[query]; ok {
		r.versions = append(r.versions, v)
	}
	return nil
}

// AppliedVersions reads the ledger. In a dry run a missing database or
// ledger (nothing applied yet) reads as empty, and so does having no server.
func (r *recordingExecutor) AppliedVersions(ctx context.Context) (map[int]string, error) {
	if r.inner == nil {
		return map[int]string{}, nil
	}
	done, err := r.inner.AppliedVersions(ctx)
	var ex *clickhouse.Exception
	if err != nil && r.dryRun && errors.As(err, &ex) && (ex.Code == 81 || ex.Code == 60) { // UNKNOWN_DATABASE, UNKNOWN_TABLE
		return map[int]string{}, nil
	}
	return done, err
}

// versionList formats versions as "1, 2, 3", or "none".
func versionList(vs []int) string {
	if len(vs) == 0 {
		return "none"
	}
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

// commentWriter prefixes what is written with "-- " so that a dry run's
// output stays a SQL script. Each Write must be whole lines.
type commentWriter struct{ w io.Writer }

func (c commentWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(c.w, "-- "); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
