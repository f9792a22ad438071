// Command mcptrail-collector captures MCP traffic on the host where agents
// run: it wraps stdio MCP servers and reverse-proxies HTTP ones.
package main

import (
	"context"
	"os"

	"github.com/mcptrail/mcptrail/collector/cli"
)

func main() {
	// No signal handling here: wrap passes signals on to the server and
	// exits with its code; proxy handles its own.
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
