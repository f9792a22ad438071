package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mcptrail/mcptrail/internal/progress"
	"github.com/mcptrail/mcptrail/schemas"
	"github.com/mcptrail/mcptrail/schemas/mcp"
)

type validateOptions struct {
	input        string
	format       string
	maxLineBytes int
	quiet        bool
}

func newValidateCommand() *cobra.Command {
	var o validateOptions
	cmd := &cobra.Command{
		Use:   "validate --input FILE|-",
		Short: "Check a capture file against the capture format and summarise it",
		Long: `validate reads a capture file (JSON Lines, one record per line), checks every
line against the capture format, and prints a summary: records, sessions,
hosts, clients, servers, tools, messages by method and kind, and bad lines by
kind.

It reads the whole input even when lines are bad. The exit code is 0 when
every line is good, 1 when any line is bad (the first 20 errors are listed,
each naming the line, the field and the reason), and 2 when the input cannot
be read. Progress goes to stderr when the work takes longer than 2 seconds.`,
		Example: `  mcptrail validate --input capture.jsonl
  zcat capture.jsonl.gz | mcptrail validate --input - --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runValidate(cmd, &o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.input, "input", "i", "", "capture file to read, or - for standard input (required)")
	f.StringVar(&o.format, "format", "text", "summary format: text or json")
	f.IntVar(&o.maxLineBytes, "max-line-bytes", schemas.DefaultMaxLineBytes, "longest line accepted, in bytes")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print no progress on stderr")
	_ = cmd.MarkFlagRequired("input")
	return cmd
}

func runValidate(cmd *cobra.Command, o *validateOptions) error {
	if o.format != "text" && o.format != "json" {
		return withCode(ExitFailure, "--format must be text or json, not %q", o.format)
	}
	in, size, closeIn, err := openInput(cmd, o.input)
	if err != nil {
		return withCode(ExitFailure, "%w", err)
	}
	defer closeIn()

	var prog *progress.Reporter
	if !o.quiet {
		prog = progress.New(cmd.ErrOrStderr(), "validate", size)
	}
	sum := schemas.NewSummary()
	r := schemas.NewReader(in, schemas.WithMaxLineBytes(o.maxLineBytes))
	var rec schemas.Record
	for {
		if err := cmd.Context().Err(); err != nil {
			return withCode(ExitFailure, "validate %s: interrupted at line %d", o.input, r.Line())
		}
		err := r.NextInto(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		var le *schemas.LineError
		switch {
		case errors.As(err, &le):
			sum.AddError(le)
		case err != nil:
			return withCode(ExitFailure, "validate %s: %w", o.input, err)
		default:
			sum.Add(&rec)
		}
		if r.Line()%4096 == 0 {
			prog.Update(r.Offset(), r.Line())
		}
	}
	prog.Done(r.Offset(), r.Line())

	out := cmd.OutOrStdout()
	if o.format == "json" {
		err = writeSummaryJSON(out, o.input, r.Offset(), sum)
	} else {
		err = writeSummaryText(out, o.input, r.Offset(), sum)
	}
	if err != nil {
		return withCode(ExitFailure, "write summary: %w", err)
	}
	if sum.BadLines > 0 {
		return withCode(ExitFindings, "%s: %d of %d lines are bad", o.input, sum.BadLines, sum.BadLines+sum.Records)
	}
	if sum.ChainBroken() {
		return withCode(ExitFindings, "%s: the hash chain of a collector stream is broken (%s)", o.input, countList(sum.ChainProblems))
	}
	return nil
}

// openInput opens a file, or standard input for "-", and returns its size
// when known.
func openInput(cmd *cobra.Command, name string) (io.Reader, int64, func(), error) {
	if name == "-" {
		return cmd.InOrStdin(), 0, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("open input: %w", err)
	}
	var size int64
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, func() { f.Close() }, nil
}

// validateSummary is the JSON form of a validate summary.
type validateSummary struct {
	Input       string                             `json:"input"`
	Bytes       int64                              `json:"bytes"`
	Records     int64                              `json:"records"`
	BadLines    int64                              `json:"bad_lines"`
	Sessions    int                                `json:"sessions"`
	Hosts       int                                `json:"hosts"`
	Clients     int                                `json:"clients"`
	Servers     int                                `json:"servers"`
	Tools       int                                `json:"tools"`
	Messages    int64                              `json:"messages"`
	Batches     int64                              `json:"batches"`
	HTTPRecords int64                              `json:"http_records"`
	AuthEvents  int64                              `json:"auth_events"`
	ParseErrors int64                              `json:"parse_errors"`
	First       *time.Time                         `json:"first,omitempty"`
	Last        *time.Time                         `json:"last,omitempty"`
	Methods     map[mcp.Method]int64               `json:"methods"`
	Kinds       map[mcp.Kind]int64                 `json:"kinds"`
	Errors      map[schemas.ErrorKind]int64        `json:"errors"`
	FirstErrors []string                           `json:"first_errors"`
	Streams     int                                `json:"streams"`
	Chain       map[schemas.ChainProblemKind]int64 `json:"chain_problems"`
	FirstChain  []string                           `json:"first_chain_problems"`
}

func writeSummaryJSON(w io.Writer, input string, bytes int64, s *schemas.Summary) error {
	v := validateSummary{
		Input: input, Bytes: bytes, Records: s.Records, BadLines: s.BadLines,
		Sessions: s.Sessions(), Hosts: s.Hosts(), Clients: s.Clients(), Servers: s.Servers(), Tools: s.Tools(),
		Messages: s.Messages, Batches: s.Batches, HTTPRecords: s.HTTPRecords, AuthEvents: s.AuthEvents, ParseErrors: s.ParseErrors,
		Methods: s.Methods, Kinds: s.Kinds, Errors: s.Errors, FirstErrors: []string{},
		Streams: s.Streams, Chain: s.ChainProblems, FirstChain: []string{},
	}
	for _, p := range s.FirstChainProblems {
		v.FirstChain = append(v.FirstChain, p.String())
	}
	if !s.First.IsZero() {
		v.First, v.Last = &s.First, &s.Last
	}
	for _, e := range s.FirstErrors {
		v.FirstErrors = append(v.FirstErrors, e.Error())
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeSummaryText(w io.Writer, input string, bytes int64, s *schemas.Summary) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k string, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...))
	}
	row("input", "%s (%.1f MB)", input, float64(bytes)/1e6)
	row("records", "%d good, %d bad", s.Records, s.BadLines)
	row("sessions", "%d", s.Sessions())
	row("hosts", "%d", s.Hosts())
	row("clients", "%d", s.Clients())
	row("servers", "%d", s.Servers())
	row("tools", "%d", s.Tools())
	row("messages", "%d in %d batches; %s", s.Messages, s.Batches, countList(s.Kinds))
	if s.HTTPRecords > 0 || s.AuthEvents > 0 {
		row("http, auth", "%d HTTP-only records, %d OAuth events", s.HTTPRecords, s.AuthEvents)
	}
	if s.ParseErrors > 0 {
		row("parse errors", "%d relayed lines were not JSON", s.ParseErrors)
	}
	if !s.First.IsZero() {
		row("time span", "%s .. %s", s.First.Format(time.RFC3339), s.Last.Format(time.RFC3339))
	}
	if len(s.Methods) > 0 {
		fmt.Fprintln(tw, "methods")
		for _, m := range slices.Sorted(maps.Keys(s.Methods)) {
			row("  "+string(m), "%d", s.Methods[m])
		}
	}
	if s.Streams > 0 {
		problems := countList(s.ChainProblems)
		if problems == "" {
			problems = "intact"
		}
		row("chained streams", "%d: %s", s.Streams, problems)
	}
	if s.BadLines > 0 {
		row("bad lines by kind", "%s", countList(s.Errors))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.FirstErrors) > 0 {
		fmt.Fprintf(w, "first %d errors:\n", len(s.FirstErrors))
		for _, e := range s.FirstErrors {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	if len(s.FirstChainProblems) > 0 {
		fmt.Fprintf(w, "first %d chain problems:\n", len(s.FirstChainProblems))
		for _, p := range s.FirstChainProblems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	return nil
}

// countList formats a count map as "a 3, b 1", largest first.
func countList[K ~string](m map[K]int64) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b K) int {
		if m[a] != m[b] {
			return int(m[b] - m[a])
		}
		return strings.Compare(string(a), string(b))
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
