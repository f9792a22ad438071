// Package vmset serves a process's metrics with
// github.com/VictoriaMetrics/metrics, for binaries that must stay small:
// client_golang's protobuf runtime would add about 4 MB to
// mcptrail-collector (collector/e2e checks its size).
//
// The metrics live in a Set of the process's own, never the library's
// default set. Components register a metrics writer on it that reads the
// counters they already keep at scrape time (metrics.WriteCounterUint64,
// metrics.WriteGaugeUint64, ...).
//
// The library writes # HELP and # TYPE lines only when the program has
// called metrics.ExposeMetadata(true), a switch for the whole process that
// belongs in package main (mcptrail-collector's main calls it); its HELP
// lines carry the name only.
package vmset

import (
	"net/http"

	"github.com/VictoriaMetrics/metrics"
)

// ContentType is the media type of the Prometheus text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// NewSet returns a Set of the process's own, registered nowhere, holding
// only the Go runtime and process metrics (go_*, process_*, under
// client_golang's names, written by metrics.WriteProcessMetrics).
func NewSet() *metrics.Set {
	s := metrics.NewSet()
	s.RegisterMetricsWriter(metrics.WriteProcessMetrics)
	return s
}

// Handler serves set in the Prometheus text exposition format.
func Handler(set *metrics.Set) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ContentType)
		set.WritePrometheus(w)
	})
}
