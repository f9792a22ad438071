// Package promreg builds a process's Prometheus registry with
// client_golang: the Go runtime, process and build-information collectors,
// and the component metrics that read counters the components keep.
package promreg

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry holding the Go runtime, process and
// build-information collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return reg
}

// Handler serves reg in the Prometheus exposition formats, counting its
// own scrapes (promhttp_metric_handler_requests_total).
func Handler(reg *prometheus.Registry) http.Handler {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorHandling: promhttp.ContinueOnError})
	return promhttp.InstrumentMetricHandler(reg, h)
}

// CounterFunc registers a counter named name whose value read returns at
// scrape time; read must be safe to call from any goroutine and must
// never decrease.
func CounterFunc(reg prometheus.Registerer, name, help string, read func() int64) {
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 {
		return float64(read())
	}))
}

// GaugeFunc registers a gauge named name whose value read returns at
// scrape time; read must be safe to call from any goroutine.
func GaugeFunc(reg prometheus.Registerer, name, help string, read func() float64) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read))
}
