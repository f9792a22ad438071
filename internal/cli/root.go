// Package cli holds the command tree of the mcptrail binary. Each
// subcommand lives in a file of its own and calls into the package of the
// component it runs; cmd/mcptrail only calls Main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Main runs the mcptrail command line with args (without the program name)
// and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "mcptrail: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitFailure
}

// NewRootCommand returns the mcptrail command tree with its flags, for
// tools that inspect it (the deployment files' test checks the flags they
// pass); Main runs it.
func NewRootCommand() *cobra.Command { return newRootCommand() }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "mcptrail",
		Short: "Audit log and anomaly detection for MCP (Model Context Protocol) traffic",
		Long: `mcptrail ships every MCP request, response and token event from the hosts
where AI agents run, stores it in ClickHouse, and flags exfiltration, prompt
injection follow-through, poisoned or changed tools, token misuse and unusual
tool-call chains.

Capture files are JSON Lines in the capture format (schemas/capture.schema.json).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newValidateCommand())
	root.AddCommand(newBusCommand())
	root.AddCommand(newMigrateCommand())
	root.AddCommand(newDetectCommand())
	root.AddCommand(newEvalCommand())
	root.AddCommand(newTrainCommand())
	root.AddCommand(newProcessCommand())
	root.AddCommand(newVerifyCommand())
	root.AddCommand(newDemoCommand())
	return root
}
