package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mcptrail/mcptrail/processor"
	"github.com/mcptrail/mcptrail/processor/store"
	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

type verifyOptions struct {
	url, database, host, since string
	limit                      int
}

func newVerifyCommand() *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify --clickhouse URL [--host H] [--since T]",
		Short: "Re-check the hash chains of the events stored in ClickHouse",
		Long: `verify reads the stored events of every collector stream back from ClickHouse,
in sequence order, rebuilds each record from its rows (the chain frame the
processor stored with it, plus its params and result), and re-checks the
stream's SHA-256 hash chain. It reports gaps (records missing), reorderings,
edits (a record or a stored row changed after the collector sealed it) and
conflicts (two records with one sequence number), as a table on stdout.

--host keeps the streams of one collector host; --since (RFC 3339 time or a
duration such as 24h, meaning that long ago) checks only records captured
since then, and does not count a stream's earlier records as missing.

Exit code: 0 when every stream checks out, 1 when problems were found, 2 on
an error (ClickHouse unreachable, bad flags).`,
		Example: `  mcptrail verify --clickhouse clickhouse://reader:secret@ch1:9000
  mcptrail verify --clickhouse http://127.0.0.1:8123 --host laptop-7 --since 24h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVerify(cmd, &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "clickhouse", "", "ClickHouse URL (required)")
	f.StringVar(&o.database, "database", chschema.DefaultDatabase, "database holding the mcptrail tables")
	f.StringVar(&o.host, "host", "", "check only the streams of this collector host")
	f.StringVar(&o.since, "since", "", "check only records captured since this time (RFC 3339) or this long ago (duration)")
	f.IntVar(&o.limit, "limit", 100, "list at most this many problems (all are counted)")
	return cmd
}

// parseSince reads --since: an RFC 3339 time or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time (2026-11-24T10:00:00Z), a date or a duration (24h)", s)
}

func runVerify(cmd *cobra.Command, o *verifyOptions) error {
	if o.url == "" {
		return withCode(ExitFailure, "--clickhouse URL is required (for example clickhouse://user:pass@host:9000 or http://host:8123)")
	}
	since, err := parseSince(o.since, time.Now())
	if err != nil {
		return withCode(ExitFailure, "%w", err)
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	conn, err := store.Open(cctx, o.url)
	cancel()
	if err != nil {
		return withCode(ExitFailure, "verify: %w", err)
	}
	defer conn.Close()

	v := processor.NewVerifier(!since.IsZero())
	err = store.ReadChainRows(ctx, conn, o.database, store.ChainFilter{Host: o.host, Since: since},
		func(r *processor.StoredRow) error { return v.Add(*r) })
	if err == nil {
		err = v.Finish()
	}
	if err != nil {
		return withCode(ExitFailure, "verify: %w", err)
	}

	out := cmd.OutOrStdout()
	if len(v.Problems) > 0 {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tSTREAM\tSEQ\tHOST\tSESSION\tDETAIL")
		for i, p := range v.Problems {
			if i == o.limit {
				fmt.Fprintf(tw, "…\t%d more\t\t\t\t\n", len(v.Problems)-o.limit)
				break
			}
			detail := p.Detail
			if p.Kind == "gap" {
				detail = fmt.Sprintf("records %d..%d missing", p.From, p.To)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", p.Kind, p.Stream, p.Seq, p.Host, p.Session, strings.ReplaceAll(detail, "\t", " "))
		}
		if err := tw.Flush(); err != nil {
			return withCode(ExitFailure, "verify: write: %w", err)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "verified %d records (%d rows) in %d streams: %d problems", v.Records, v.Rows, v.Streams, len(v.Problems))
	if v.Unframed > 0 {
		fmt.Fprintf(out, "; %d records without a chain frame (stored before schema version 6) not checked", v.Unframed)
	}
	fmt.Fprintln(out)
	if len(v.Problems) > 0 {
		return withCode(ExitFindings, "verify: %d hash chain problems", len(v.Problems))
	}
	return nil
}
