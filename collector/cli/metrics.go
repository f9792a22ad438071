package cli

import (
	"io"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/mcptrail/mcptrail/collector/capture"
	"github.com/mcptrail/mcptrail/collector/sink"
)

// registerMetrics exposes on set, read at scrape time, the recorder's
// counters and, when out delivers to a bus, the bus sink's and its
// spool's (the library's # HELP lines carry no text, so their meaning is
// written down here):
//
//	mcptrail_collector_records_captured_total           records (one per JSON-RPC message, token or OAuth event) handed to the sink
//	mcptrail_collector_records_dropped_total            records the sink refused (spool full, encoding failed); the MCP traffic is not affected
//	mcptrail_collector_records_published_total          records the bus acknowledged (at least once: a record sent again counts again)
//	mcptrail_collector_publish_errors_total             publishes that failed (bus unreachable, refused, not acknowledged); the record is sent again
//	mcptrail_collector_records_refused_total            records dropped from the spool undelivered: refused by the bus for good (too large) or damaged
//	mcptrail_collector_bus_connect_errors_total         failed attempts to connect to the bus (or open a publisher on it)
//	mcptrail_collector_spool_records                    records in the spool, not yet acknowledged by the bus
//	mcptrail_collector_spool_bytes                      bytes of those records, framing included
//	mcptrail_collector_spool_disk_bytes                 size of the spool's segment files
//	mcptrail_collector_spool_oldest_record_age_seconds  age of the oldest spooled record (0 when empty): how far delivery is behind
//	mcptrail_collector_spool_appended_records_total     records appended to the spool
//	mcptrail_collector_spool_corrupt_bytes_total        spool bytes skipped after checksum failures
func registerMetrics(set *metrics.Set, rec *capture.Recorder, out capture.Sink) {
	set.RegisterMetricsWriter(func(w io.Writer) {
		st := rec.Stats()
		metrics.WriteCounterUint64(w, "mcptrail_collector_records_captured_total", uint64(st.Records))
		metrics.WriteCounterUint64(w, "mcptrail_collector_records_dropped_total", uint64(st.Dropped))
	})
	b, ok := out.(*sink.Bus)
	if !ok {
		return
	}
	set.RegisterMetricsWriter(func(w io.Writer) {
		st := b.Stats()
		metrics.WriteCounterUint64(w, "mcptrail_collector_records_published_total", st.Published)
		metrics.WriteCounterUint64(w, "mcptrail_collector_publish_errors_total", st.PublishErrors)
		metrics.WriteCounterUint64(w, "mcptrail_collector_records_refused_total", st.Refused)
		metrics.WriteCounterUint64(w, "mcptrail_collector_bus_connect_errors_total", st.ConnectErrors)

		sp := b.Spool()
		metrics.WriteGaugeUint64(w, "mcptrail_collector_spool_records", uint64(sp.Records))
		metrics.WriteGaugeUint64(w, "mcptrail_collector_spool_bytes", uint64(sp.Bytes))
		metrics.WriteGaugeUint64(w, "mcptrail_collector_spool_disk_bytes", uint64(sp.DiskBytes))
		age := 0.0
		if !sp.Oldest.IsZero() {
			age = max(time.Since(sp.Oldest).Seconds(), 0)
		}
		metrics.WriteGaugeFloat64(w, "mcptrail_collector_spool_oldest_record_age_seconds", age)
		metrics.WriteCounterUint64(w, "mcptrail_collector_spool_appended_records_total", sp.Appended)
		metrics.WriteCounterUint64(w, "mcptrail_collector_spool_corrupt_bytes_total", uint64(sp.CorruptBytes))
	})
}
