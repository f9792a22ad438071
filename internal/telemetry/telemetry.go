// Package telemetry serves a long-running mcptrail command's Prometheus
// metrics and health endpoints on an address of their own:
//
//	/metrics  the process's metrics in the Prometheus text format
//	/healthz  liveness: 200 while the process serves HTTP at all
//	/readyz   readiness: 200 when the component's check passes, else 503
//	          with the reason
//
// The metrics come from a per-process registry, never a global one:
// promreg (client_golang) in the mcptrail binary, vmset
// (VictoriaMetrics/metrics) in the collector, whose binary must stay
// small. This package itself depends on neither.
// Components expose the counters they already keep through small read
// functions; the registry reads them at scrape time.
package telemetry

import "github.com/spf13/pflag"

// FlagName is the flag every long-running command takes for the address
// of its metrics and health endpoints.
const FlagName = "metrics-listen"

// FlagUsage is that flag's help text.
const FlagUsage = "host:port to serve Prometheus /metrics, /healthz and /readyz on (port 0: a free port); empty (the default): off"

// AddFlag registers --metrics-listen on fs, storing its value in addr.
func AddFlag(fs *pflag.FlagSet, addr *string) {
	fs.StringVar(addr, FlagName, "", FlagUsage)
}
