// Package clickhouse holds the ClickHouse schema of mcptrail as versioned,
// embedded SQL migrations, and applies them.
//
// Each migration is migrations/NNNN_name.sql: statements separated by lines
// ending in ";", written as Go text/templates so that one file serves a
// single node and a cluster. The template functions are:
//
//	{{db}}                     the database name
//	{{on_cluster}}             "" or ON CLUSTER `name`
//	{{retention_days}}         days kept by the TTL of events and most tables
//	{{local "events"}}         db.events, or db.events_local on a cluster
//	{{engine "ReplacingMergeTree" "inserted_at"}}
//	                           ReplacingMergeTree(inserted_at), or on a cluster
//	                           ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', inserted_at)
//	{{global_engine ...}}      as engine, but one replica set for the whole
//	                           cluster (no {shard} in the path): for schema_migrations
//	{{distributed "events" "xxHash64(session)"}}
//	                           nothing on a single node; on a cluster the
//	                           Distributed table with the public name over
//	                           the _local table, with that sharding key
//
// Statements that render to nothing (only comments) are dropped. Every
// statement is idempotent (IF NOT EXISTS), so a migration that failed half way
// is simply run again. Apply records applied migrations with their checksum
// in schema_migrations and refuses to go on when an applied migration's file
// has changed since.
package clickhouse

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

//go:embed bootstrap.sql
var bootstrapSQL string

// DefaultDatabase is the database used when Options.Database is empty.
const DefaultDatabase = "mcptrail"

// DefaultRetentionDays is the retention used when Options.RetentionDays is 0.
const DefaultRetentionDays = 365

// Options select the variant of the schema to render.
type Options struct {
	// Database is the database holding every table (DefaultDatabase if empty).
	Database string
	// Cluster, if set, renders the cluster variant: Replicated*MergeTree
	// tables named *_local, created ON CLUSTER, behind Distributed tables
	// with the public names.
	Cluster string
	// RetentionDays is how long events, rollups and findings are kept (TTL);
	// DefaultRetentionDays if 0. It is fixed when a table is created: change
	// it later with ALTER TABLE ... MODIFY TTL.
	RetentionDays int
}

var (
	identRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	clusterRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	fileRE    = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)
)

// normalize validates o and fills in the defaults.
func (o Options) normalize() (Options, error) {
	if o.Database == "" {
		o.Database = DefaultDatabase
	}
	if !identRE.MatchString(o.Database) {
		return o, fmt.Errorf("clickhouse: database name %q: want letters, digits and _", o.Database)
	}
	if o.Cluster != "" && !clusterRE.MatchString(o.Cluster) {
		return o, fmt.Errorf("clickhouse: cluster name %q: want letters, digits, _, . and -", o.Cluster)
	}
	switch {
	case o.RetentionDays == 0:
		o.RetentionDays = DefaultRetentionDays
	case o.RetentionDays < 0:
		return o, fmt.Errorf("clickhouse: retention of %d days: want a positive number", o.RetentionDays)
	}
	return o, nil
}

// Migration is one embedded migration file.
type Migration struct {
	// Version is the NNNN of the file name.
	Version int
	// Name is the file name without ".sql", such as "0001_events".
	Name string
	// Checksum is the hex SHA-256 of the file as embedded.
	Checksum string
	// SQL is the file's text, before rendering.
	SQL string
}

// Migrations returns the embedded migrations ordered by version. Versions
// are unique and numbered 1, 2, … without gaps.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("clickhouse: reading embedded migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("clickhouse: migration file %q: want NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("clickhouse: reading migration %s: %w", e.Name(), err)
		}
		v, _ := strconv.Atoi(m[1])
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Version: v, Name: strings.TrimSuffix(e.Name(), ".sql"), Checksum: hex.EncodeToString(sum[:]), SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("clickhouse: migration %s: want version %04d (versions run 1, 2, … without gaps or repeats)", m.Name, i+1)
		}
	}
	return ms, nil
}

// Statements renders the migration for opts and splits it into statements,
// without their final ";".
func (m Migration) Statements(opts Options) ([]string, error) {
	stmts, err := render(m.Name, m.SQL, opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: migration %s: %w", m.Name, err)
	}
	return stmts, nil
}

// BootstrapStatements are the statements Apply runs before reading the
// applied versions: CREATE DATABASE and CREATE TABLE schema_migrations, both
// IF NOT EXISTS.
func BootstrapStatements(opts Options) ([]string, error) {
	stmts, err := render("bootstrap", bootstrapSQL, opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: bootstrap: %w", err)
	}
	return stmts, nil
}

// AppliedVersionsQuery is the query an Executor runs for AppliedVersions: one
// row per applied version with its checksum (the latest recorded).
func AppliedVersionsQuery(opts Options) (string, error) {
	o, err := opts.normalize()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("SELECT version, argMax(checksum, applied_at) AS checksum FROM %s.schema_migrations GROUP BY version ORDER BY version", o.Database), nil
}

// RecordStatement is the INSERT that records m as applied.
func RecordStatement(opts Options, m Migration) (string, error) {
	o, err := opts.normalize()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("INSERT INTO %s.schema_migrations (version, name, checksum) VALUES (%d, %s, %s)",
		o.Database, m.Version, quote(m.Name), quote(m.Checksum)), nil
}

// quote is a ClickHouse string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// render executes the template text for opts and splits the result.
func render(name, text string, opts Options) ([]string, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs(o)).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parsing template: %w", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, nil); err != nil {
		return nil, fmt.Errorf("rendering: %w", err)
	}
	return Split(b.String()), nil
}

// Split splits SQL text into statements: a statement ends with a line whose
// text ends in ";". Whole-line "--" comments are removed, and statements left
// empty are dropped. A ";" must therefore not end a line inside a string
// literal.
func Split(text string) []string {
	var stmts []string
	var cur []string
	flush := func() {
		s := strings.TrimSpace(strings.Join(cur, "\n"))
		s = strings.TrimSpace(strings.TrimSuffix(s, ";"))
		if s != "" {
			stmts = append(stmts, s)
		}
		cur = cur[:0]
	}
	for line := range strings.SplitSeq(text, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") {
			continue
		}
		cur = append(cur, strings.TrimRight(line, " \t\r"))
		if strings.HasSuffix(t, ";") {
			flush()
		}
	}
	flush()
	return stmts
}

// funcs are the template functions of the migrations for normalized opts.
func funcs(o Options) template.FuncMap {
	clustered := o.Cluster != ""
	ident := func(kind, s string) (string, error) {
		if !identRE.MatchString(s) {
			return "", fmt.Errorf("%s %q: want letters, digits and _", kind, s)
		}
		return s, nil
	}
	engine := func(shardPath bool) func(string, ...string) (string, error) {
		return func(kind string, args ...string) (string, error) {
			if _, err := ident("engine", kind); err != nil {
				return "", err
			}
			if !strings.HasSuffix(kind, "MergeTree") {
				return "", fmt.Errorf("engine %q: want a *MergeTree engine", kind)
			}
			if !clustered {
				return kind + "(" + strings.Join(args, ", ") + ")", nil
			}
			zk := "'/clickhouse/tables/{shard}/{database}/{table}'"
			if !shardPath {
				zk = "'/clickhouse/tables/{database}/{table}'"
			}
			return "Replicated" + kind + "(" + strings.Join(append([]string{zk, "'{replica}'"}, args...), ", ") + ")", nil
		}
	}
	local := func(table string) (string, error) {
		if _, err := ident("table", table); err != nil {
			return "", err
		}
		if clustered {
			return o.Database + "." + table + "_local", nil
		}
		return o.Database + "." + table, nil
	}
	return template.FuncMap{
		"db":             func() string { return o.Database },
		"retention_days": func() int { return o.RetentionDays },
		"on_cluster": func() string {
			if clustered {
				return "ON CLUSTER " + quoteIdent(o.Cluster)
			}
			return ""
		},
		"local":         local,
		"engine":        engine(true),
		"global_engine": engine(false),
		"distributed": func(table, shardingKey string) (string, error) {
			if _, err := ident("table", table); err != nil {
				return "", err
			}
			if !clustered {
				return "", nil
			}
			return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s ON CLUSTER %s AS %s.%s_local\nENGINE = Distributed(%s, %s, %s_local, %s)",
				o.Database, table, quoteIdent(o.Cluster), o.Database, table,
				quote(o.Cluster), quote(o.Database), table, shardingKey), nil
		},
	}
}

// quoteIdent is a ClickHouse back-quoted identifier.
func quoteIdent(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}

// Executor runs statements on ClickHouse for Apply. The mcptrail migrate
// command implements it with clickhouse-go.
type Executor interface {
	// Exec runs one statement (DDL or INSERT) and returns its error.
	Exec(ctx context.Context, query string) error
	// AppliedVersions returns the checksum of every applied migration by
	// version: the rows of AppliedVersionsQuery.
	AppliedVersions(ctx context.Context) (map[int]string, error)
}

// Apply brings the database up to date: it runs the bootstrap statements,
// reads the applied versions, and applies every pending migration in
// version order, recording each in schema_migrations after its last
// statement. It returns how many migrations it applied. It refuses, before
// running any migration, when an applied migration's checksum differs from
// the embedded file, or when the database has a version this build does not
// know (a newer mcptrail migrated it). log, if not nil, gets a line per step.
func Apply(ctx context.Context, ex Executor, opts Options, log func(string)) (applied int, err error) {
	if log == nil {
		log = func(string) {}
	}
	ms, err := Migrations()
	if err != nil {
		return 0, err
	}
	boot, err := BootstrapStatements(opts)
	if err != nil {
		return 0, err
	}
	for _, s := range boot {
		if err := ex.Exec(ctx, s); err != nil {
			return 0, fmt.Errorf("clickhouse: bootstrap: %w\nstatement:\n%s", err, s)
		}
	}
	done, err := ex.AppliedVersions(ctx)
	if err != nil {
		return 0, fmt.Errorf("clickhouse: reading applied migrations: %w", err)
	}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.Version] = true
		if sum, ok := done[m.Version]; ok && sum != m.Checksum {
			return 0, fmt.Errorf("clickhouse: migration %s was applied with checksum %.12s… but the embedded file has %.12s…: a shipped migration must not change; add a new one", m.Name, sum, m.Checksum)
		}
	}
	for v := range done {
		if !known[v] {
			return 0, fmt.Errorf("clickhouse: the database has migration version %d, which this build does not know (latest %d): use a newer mcptrail", v, len(ms))
		}
	}
	for _, m := range ms {
		if _, ok := done[m.Version]; ok {
			continue
		}
		stmts, err := m.Statements(opts)
		if err != nil {
			return applied, err
		}
		log(fmt.Sprintf("applying %s (%d statements)", m.Name, len(stmts)))
		for i, s := range stmts {
			if err := ex.Exec(ctx, s); err != nil {
				return applied, fmt.Errorf("clickhouse: migration %s, statement %d of %d: %w\nstatement:\n%s", m.Name, i+1, len(stmts), err, s)
			}
		}
		rec, err := RecordStatement(opts, m)
		if err != nil {
			return applied, err
		}
		if err := ex.Exec(ctx, rec); err != nil {
			return applied, fmt.Errorf("clickhouse: recording migration %s: %w", m.Name, err)
		}
		applied++
	}
	log(fmt.Sprintf("schema at version %d (%d applied now)", len(ms), applied))
	return applied, nil
}
