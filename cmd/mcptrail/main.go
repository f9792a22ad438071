// Command mcptrail is the server-side binary of mcptrail: validate capture
// files, and (as the pipeline grows) process, detect, migrate and verify.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mcptrail/mcptrail/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
