package cli

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mcptrail/mcptrail/internal/demo"
	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

// envMCPServers names the directory of the npm MCP servers, as
// deployments/mcp-servers/install.sh prints it.
const envMCPServers = "MCPTRAIL_MCP_SERVERS"

type demoOptions struct {
	clickhouse, chdbBridge, database string
	collector, mcpServers            string
	dataDir, summaryJSON, grafana    string
	keep                             bool
}

func newDemoCommand() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on this machine: real MCP servers, a scripted agent, three attacks",
		Long: `demo runs every part of mcptrail on this machine, on loopback addresses only:
the bus (mcptrail bus), ClickHouse (--clickhouse, or the chDB dev bridge),
mcptrail migrate, mcptrail process and mcptrail detect --bus, and the real
MCP servers server-filesystem and server-everything (npm) behind
mcptrail-collector wrap (stdio) and proxy (HTTP).

A scripted agent then does ordinary work (reads and writes notes, uses the
everything server's tools over stdio and HTTP) and acts out three attacks:

  exfiltration  a partner's document carries hidden instructions for the AI;
                the agent follows them, reads the project's .env (fake
                credentials, fresh each run) and copies it to the folder
                published to partners
  rug-pull      server-filesystem comes back, under the same name, as an
                update whose read_text_file description tells the model to
                leak the .env
  token-replay  a bearer token issued for one MCP server is presented to
                another one

The detector's findings are printed as they arrive. At the end the demo
waits until every captured record is stored and the detector has caught
up, runs mcptrail verify, and prints a summary: records captured, events
stored, sessions, servers, tools, findings by rule and severity, hash chain
problems, dead letters, which attack each finding belongs to, and the SQL
queries and Grafana links to look at it with. --summary-json writes it as
JSON.

Exit code: 0 when everything worked (every record stored, every attack
caught at high or critical severity, no such finding on ordinary work), 1
when the run finished with problems (listed), 2 when it could not run (a
missing prerequisite is named with the script that installs it).`,
		Example: `  go tool task demo                      # builds, installs the servers and chDB, runs this
  mcptrail demo --summary-json summary.json
  mcptrail demo --keep --data-dir /tmp/demo   # keep logs, workspace and the chDB data
  mcptrail demo --clickhouse clickhouse://default@127.0.0.1:9000 --database mcptrail_demo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd, &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.clickhouse, "clickhouse", "", "URL of a ClickHouse server to store into (default: start the chDB dev bridge)")
	f.StringVar(&o.chdbBridge, "chdb-bridge", filepath.Join("deployments", "chdb", "bridge.py"), "the chDB bridge script, run with python3 when --clickhouse is not given")
	f.StringVar(&o.database, "database", chschema.DefaultDatabase, "ClickHouse database to store into; it must hold no events yet")
	f.StringVar(&o.collector, "collector", "", "the mcptrail-collector binary (default: next to this binary)")
	f.StringVar(&o.mcpServers, "mcp-servers", "", "directory of the npm MCP servers, as deployments/mcp-servers/install.sh prints it (default $"+envMCPServers+" or ~/.cache/mcptrail/mcp-servers)")
	f.StringVar(&o.dataDir, "data-dir", "", "directory for everything the run writes; new or empty (default: a new temporary directory)")
	f.BoolVar(&o.keep, "keep", false, "keep the data directory (logs, workspace, bus and chDB data) at the end")
	f.StringVar(&o.summaryJSON, "summary-json", "", "also write the summary to this file as JSON")
	f.StringVar(&o.grafana, "grafana", "http://127.0.0.1:3000", "base URL of the Grafana in the summary's dashboard links")
	return cmd
}

func runDemo(cmd *cobra.Command, o *demoOptions) error {
	self, err := os.Executable()
	if err != nil {
		return withCode(ExitFailure, "demo: locate this binary: %w", err)
	}
	cfg := demo.Config{
		Mcptrail: self, Collector: o.collector, MCPServers: o.mcpServers,
		ClickHouse: o.clickhouse, ChdbBridge: o.chdbBridge, Database: o.database,
		DataDir: o.dataDir, Keep: o.keep, SummaryJSON: o.summaryJSON, Grafana: o.grafana,
		Stdout: cmd.OutOrStdout(),
	}
	if cfg.Collector == "" {
		cfg.Collector = filepath.Join(filepath.Dir(self), "mcptrail-collector")
	}
	if cfg.MCPServers == "" {
		cfg.MCPServers = os.Getenv(envMCPServers)
	}
	if cfg.MCPServers == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return withCode(ExitFailure, "demo: --mcp-servers not given and no home directory: %w", err)
		}
		cfg.MCPServers = filepath.Join(home, ".cache", "mcptrail", "mcp-servers")
	}
	sum, err := demo.Run(cmd.Context(), cfg)
	if err != nil {
		return withCode(ExitFailure, "demo: %w", err)
	}
	if !sum.OK {
		return withCode(ExitFindings, "demo: %d problems (listed above)", len(sum.Problems))
	}
	return nil
}
