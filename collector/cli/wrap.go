package cli

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mcptrail/mcptrail/collector/capture"
	"github.com/mcptrail/mcptrail/collector/wrap"
	"github.com/mcptrail/mcptrail/schemas"
)

// closeTimeout bounds how long the collector waits, after the server
// exited, for records to reach the bus; what is left stays in the spool.
const closeTimeout = 3 * time.Second

func newWrapCommand(code *int, getenv func(string) string) *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "wrap --server-name NAME [flags] -- COMMAND [ARGS...]",
		Short: "Run a stdio MCP server and capture its traffic",
		Long: `wrap runs an MCP stdio server as its child and sits between it and the MCP
host: point the host's MCP configuration at mcptrail-collector wrap … -- and
the server's command. stdin, stdout and stderr are relayed byte for byte,
signals are passed on, and the collector exits with the server's exit code.
The collector writes nothing to stdout; its own messages go to stderr.

Every JSON-RPC line in either direction becomes a capture record (a line that
is not JSON becomes a parse_error record). The session is one id per server
process; the client and the server version are learnt from initialize. If
capture fails (bus down and spool full, say), records are dropped and
counted, never the relayed traffic.

With --metrics-listen host:port (off by default) the collector serves
Prometheus metrics on /metrics (mcptrail_collector_*: records captured and
dropped, spool depth, bytes and age), liveness on /healthz and readiness on
/readyz. Give every wrapped server its own port: each is its own process.`,
		Example: `  mcptrail-collector wrap --server-name filesystem -- npx -y @modelcontextprotocol/server-filesystem ~/notes
  mcptrail-collector wrap --server-name time --sink file:/tmp/capture.jsonl -- uvx mcp-server-time`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := o.openPipeline(cmd, getenv, schemas.TransportStdio, schemas.Server{Command: commandLine(args)})
			if err != nil {
				return err
			}
			p.ready.Ready(nil)
			exit, runErr := wrap.Run(cmd.Context(), wrap.Config{
				Command: args, Recorder: p.rec, Session: capture.NewID(), MaxLineBytes: int(o.maxLine),
				Stdin: cmd.InOrStdin(), Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(), Logger: p.log,
			})
			ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			defer cancel()
			p.close(ctx)
			*code = exit
			return runErr
		},
	}
	cmd.Flags().SetInterspersed(false) // everything after the command belongs to it
	o.register(cmd)
	return cmd
}

// commandLine joins a command for the record, quoting arguments that need
// it.
func commandLine(args []string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`") {
			a = strconv.Quote(a)
		}
		parts[i] = a
	}
	return strings.Join(parts, " ")
}
