// Command mcptrail-collector captures MCP traffic on the host where agents
// run: it wraps stdio MCP servers and reverse-proxies HTTP ones.
package main

import (
	"context"
	"os"
	"runtime/debug"

	"github.com/VictoriaMetrics/metrics"

	"github.com/mcptrail/mcptrail/collector/cli"
)

// The collector relays interactive traffic: garbage collection running on
// the host's few cores shows up in its tail latency. It collects less often
// than Go's default (GOGC 400, measured: p99 added to a stdio round trip
// from ~160-220 µs to ~115-130 µs) and bounds its heap with a soft memory
// limit instead. GOGC and GOMEMLIMIT in the environment override both.
const (
	gcPercent   = 400
	memoryLimit = 64 << 20
)

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	// /metrics (--metrics-listen) is written by VictoriaMetrics/metrics,
	// which adds # HELP and # TYPE lines only when asked to. The switch is
	// the library's, for the whole process, so it is set here, once, and
	// nowhere in library code.
	metrics.ExposeMetadata(true)
	// No signal handling here: wrap passes signals on to the server and
	// exits with its code; proxy handles its own.
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
