// Package cli is the command tree of mcptrail-collector: wrap (stdio) and
// proxy (HTTP). Every option is a flag; the same option can come from the
// environment (MCPTRAIL_COLLECTOR_<FLAG>) or a YAML file (--config), with
// flags first, then the environment, then the file.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// ExitConfig is the exit code for bad configuration and wrapper failures
// that happen before the server runs.
const ExitConfig = 2

// Main runs mcptrail-collector with args and returns the exit code. For
// wrap it is the wrapped server's code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	code := 0
	root := newRootCommand(&code, getenv)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "mcptrail-collector: %v\n", err)
		var ce *configError
		if errors.As(err, &ce) || code == 0 {
			return ExitConfig
		}
	}
	return code
}

// NewRootCommand returns the mcptrail-collector command tree with its
// flags, for tools that inspect it (the deployment files' test checks the
// flags they pass); Main runs it. getenv supplies the environment.
func NewRootCommand(getenv func(string) string) *cobra.Command {
	var code int
	return newRootCommand(&code, getenv)
}

// newRootCommand builds the tree; wrap stores the server's exit code in
// code.
func newRootCommand(code *int, getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:   "mcptrail-collector",
		Short: "Capture MCP traffic on the host where agents run",
		Long: `mcptrail-collector stands between an MCP client and an MCP server, relays
their traffic unchanged, and records every JSON-RPC message, token and OAuth
event as capture records: redacted at source, numbered and hash-chained, and
delivered to a file or to the mcptrail bus (spooled on disk while the bus is
down).

Every option can also be set in the environment as MCPTRAIL_COLLECTOR_<FLAG>
(for --sink: MCPTRAIL_COLLECTOR_SINK) or in a YAML file given with --config,
whose keys are the flag names (sink: nats://127.0.0.1:4222). Flags win over
the environment, which wins over the file.

--metrics-listen host:port (MCPTRAIL_COLLECTOR_METRICS_LISTEN, YAML key
metrics-listen; off by default) serves Prometheus metrics, /healthz and
/readyz.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newWrapCommand(code, getenv), newProxyCommand(getenv))
	return root
}

// configError marks an error in the options.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }
