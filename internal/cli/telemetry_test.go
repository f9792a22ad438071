package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsbus"
	"github.com/mcptrail/mcptrail/internal/syncbuf"
	"github.com/mcptrail/mcptrail/internal/telemetry/telemetrytest"
)

// TestBusMetrics runs mcptrail bus with --metrics-listen, publishes and
// consumes records on it, and reads what its endpoints say.
func TestBusMetrics(t *testing.T) {
	rb := startBus(t, "--metrics-listen", "127.0.0.1:0")
	addr := telemetrytest.Addr(t, rb.stderr, 30*time.Second)
	telemetrytest.WaitStatus(t, addr, "/readyz", http.StatusOK, 30*time.Second)
	if code, _ := telemetrytest.Get(t, addr, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	if m := telemetrytest.Scrape(t, addr).Missing(append(busMetrics, "go_goroutines", "process_resident_memory_bytes", "go_build_info")...); len(m) > 0 {
		t.Errorf("metric families missing: %v", m)
	}
	telemetrytest.WaitValue(t, addr, 10*time.Second, telemetrytest.Equals(0), "mcptrail_bus_jetstream_messages")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n, size, partitions = 500, 200, 4
	b, err := natsbus.Open(ctx, bus.Config{Servers: []string{rb.addr}, Topic: "metrics", Partitions: partitions})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	telemetrytest.WaitValue(t, addr, 10*time.Second, telemetrytest.Equals(1), "mcptrail_bus_connections")
	p, err := b.Publisher(ctx, bus.PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		v := fmt.Appendf(nil, "record %04d ", i)
		v = append(v, strings.Repeat("x", size-len(v))...)
		if err := p.Publish(ctx, bus.Message{Key: fmt.Appendf(nil, "session-%d", i%37), Value: v}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	telemetrytest.WaitValue(t, addr, 10*time.Second, telemetrytest.Equals(n), "mcptrail_bus_jetstream_messages")
	fams := telemetrytest.Scrape(t, addr)
	for _, c := range []struct {
		name string
		ok   func(float64) bool
		want string
	}{
		{"mcptrail_bus_jetstream_streams", telemetrytest.Equals(partitions + 1), fmt.Sprintf("%d (a stream per partition and the dead letters)", partitions+1)},
		{"mcptrail_bus_jetstream_bytes", telemetrytest.Above(n * size), fmt.Sprintf("more than %d", n*size)},
		{"mcptrail_bus_in_messages_total", telemetrytest.Above(n - 1), fmt.Sprintf("at least %d", n)},
		{"mcptrail_bus_in_bytes_total", telemetrytest.Above(n * size), fmt.Sprintf("more than %d", n*size)},
		{"mcptrail_bus_connections_total", telemetrytest.Above(0), "more than 0"},
		{"mcptrail_bus_jetstream_consumers", telemetrytest.Equals(0), "0"},
	} {
		if v, _ := fams.Value(c.name); !c.ok(v) {
			t.Errorf("after publishing %d records: %s = %v, want %s", n, c.name, v, c.want)
		}
	}

	// A consumer group: one JetStream consumer per partition, and the
	// records go out.
	cons, err := b.Consumer(ctx, bus.ConsumerConfig{Group: "metrics"})
	if err != nil {
		t.Fatal(err)
	}
	for got := 0; got < n; {
		ds, err := cons.Fetch(ctx, 100)
		if err != nil {
			t.Fatalf("fetched %d of %d: %v", got, n, err)
		}
		if err := cons.Ack(ctx, ds...); err != nil {
			t.Fatal(err)
		}
		got += len(ds)
	}
	fams = telemetrytest.Scrape(t, addr)
	if v, _ := fams.Value("mcptrail_bus_jetstream_consumers"); v != partitions {
		t.Errorf("mcptrail_bus_jetstream_consumers = %v, want %d", v, partitions)
	}
	if v, _ := fams.Value("mcptrail_bus_out_bytes_total"); v <= n*size {
		t.Errorf("mcptrail_bus_out_bytes_total = %v after %d records of %d bytes were consumed", v, n, size)
	}
	_ = cons.Close()
	_ = b.Close()
	telemetrytest.WaitValue(t, addr, 10*time.Second, telemetrytest.Equals(0), "mcptrail_bus_connections")
	rb.stop(t)
}

// busMetrics are the metric families mcptrail bus serves about itself.
var busMetrics = []string{
	"mcptrail_bus_connections", "mcptrail_bus_connections_total",
	"mcptrail_bus_in_messages_total", "mcptrail_bus_in_bytes_total",
	"mcptrail_bus_out_messages_total", "mcptrail_bus_out_bytes_total",
	"mcptrail_bus_slow_consumers_total", "mcptrail_bus_subscriptions",
	"mcptrail_bus_jetstream_streams", "mcptrail_bus_jetstream_consumers",
	"mcptrail_bus_jetstream_messages", "mcptrail_bus_jetstream_bytes",
}

// TestMetricsListenInUse: every long-running command refuses to start
// when its metrics address cannot be bound, naming the address and the
// flag.
func TestMetricsListenInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	tests := []struct {
		name string
		args []string
	}{
		{"bus", []string{"bus", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}},
		{"process", []string{"process", "--bus", "nats://127.0.0.1:1", "--clickhouse", "http://127.0.0.1:1"}},
		{"detect", []string{"detect", "--bus", "nats://127.0.0.1:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr syncbuf.Buffer
			code := Main(ctx, append(tt.args, "--metrics-listen", busy), strings.NewReader(""), &stdout, &stderr)
			if code != ExitFailure || !strings.Contains(stderr.String(), busy) || !strings.Contains(stderr.String(), "--metrics-listen") {
				t.Errorf("exit %d, stderr %s; want %d and an error naming %s and --metrics-listen", code, stderr.String(), ExitFailure, busy)
			}
		})
	}
}

// TestMetricsListenHelp: the long-running commands document the flag and
// that it is off by default.
func TestMetricsListenHelp(t *testing.T) {
	for _, sub := range []string{"bus", "process", "detect"} {
		code, out, _ := run(t, "", sub, "--help")
		if code != 0 || !strings.Contains(out, "--metrics-listen") || !strings.Contains(out, "empty (the default): off") {
			t.Errorf("%s --help (exit %d) does not document --metrics-listen and its default:\n%s", sub, code, out)
		}
	}
}

// TestProcessBusLag: records published while the processor is stopped
// wait on the bus. Once it starts, its backlog starts above 0 and drains
// to 0, and the lag says how long the records waited, in pipeline_metrics
// (bus_pending, bus_lag_ms: the names the pipeline dashboard reads) and
// in the Prometheus gauges; records published to the running processor
// are taken at once.
func TestProcessBusLag(t *testing.T) {
	dev := readLines(t, devSetPath)
	e := newPipelineEnv(t)
	e.migrate(t, "lag")
	published := time.Now()
	e.publish(t, "lag", dev)
	const wait = 2 * time.Second // every record waits at least this long
	time.Sleep(wait)
	// Batches of 1,000 rows make the drain take a few seconds; no record
	// waits long enough unacknowledged to be delivered again.
	logs, stop := e.startProcess(t, "lag", "lag", "--batch-rows", "1000", "--metrics-interval", "250ms", "--ack-wait", "2m",
		"--metrics-listen", "127.0.0.1:0")
	metrics := telemetrytest.Addr(t, logs, 30*time.Second)

	// While it drains: a backlog, and the lag of records that waited.
	deadline := time.Now().Add(30 * time.Second)
	for {
		fams := telemetrytest.Scrape(t, metrics)
		pending, _ := fams.Value("mcptrail_processor_bus_pending_records")
		lag, _ := fams.Value("mcptrail_processor_bus_lag_seconds")
		if pending > 0 {
			if lag < wait.Seconds() || lag > time.Since(published).Seconds() {
				t.Errorf("bus lag %v s with %v records pending; want between %v and %v", lag, pending, wait.Seconds(), time.Since(published).Seconds())
			}
			t.Logf("draining: %v records pending, lag %.3f s", pending, lag)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no backlog seen in 30 s (lag %v s):\n%s", lag, tail(logs.String(), 10))
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.waitRows(t, "SELECT count() FROM lag.events", uint64(len(dev)), 120*time.Second, logs)
	telemetrytest.WaitValue(t, metrics, 30*time.Second, telemetrytest.Equals(0), "mcptrail_processor_bus_pending_records")
	telemetrytest.WaitValue(t, metrics, 30*time.Second, telemetrytest.Equals(0), "mcptrail_processor_bus_lag_seconds")
	e.waitRows(t, "SELECT toUInt64(argMax(value, ts)) FROM lag.pipeline_metrics WHERE metric = 'bus_pending'", 0, 30*time.Second, logs)
	drained := time.Since(published)

	var firstPending, maxLag, minBusyLag float64
	var samples uint64
	q := `SELECT argMin(value, ts), count() FROM lag.pipeline_metrics WHERE metric = 'bus_pending' AND component = 'processor'`
	if err := e.conn.QueryRow(context.Background(), q).Scan(&firstPending, &samples); err != nil {
		t.Fatal(err)
	}
	if firstPending <= 0 || samples < 2 {
		t.Errorf("first of %d bus_pending samples is %v; want a backlog, then 0", samples, firstPending)
	}
	q = `SELECT max(value), minIf(value, value > 0) FROM lag.pipeline_metrics WHERE metric = 'bus_lag_ms' AND component = 'processor'`
	if err := e.conn.QueryRow(context.Background(), q).Scan(&maxLag, &minBusyLag); err != nil {
		t.Fatal(err)
	}
	// Every batch of the drain was of records that had waited.
	if minBusyLag < float64(wait.Milliseconds()) || maxLag > float64(drained.Milliseconds()) {
		t.Errorf("bus_lag_ms samples from %v to %v; want at least %d and at most %d", minBusyLag, maxLag, wait.Milliseconds(), drained.Milliseconds())
	}
	t.Logf("drain: first bus_pending %v, bus_lag_ms %.0f..%.0f", firstPending, minBusyLag, maxLag)

	// Live records are taken as they come.
	live := time.Now()
	e.publish(t, "lag", dev[:50])
	e.waitRows(t, "SELECT toUInt64(max(value)) FROM lag.pipeline_metrics WHERE metric = 'rows_inserted_total'", uint64(len(dev)+50), 30*time.Second, logs)
	q = fmt.Sprintf(`SELECT max(value) FROM lag.pipeline_metrics WHERE metric = 'bus_lag_ms' AND ts >= fromUnixTimestamp64Milli(%d)`, live.UnixMilli())
	var liveLag float64
	if err := e.conn.QueryRow(context.Background(), q).Scan(&liveLag); err != nil {
		t.Fatal(err)
	}
	if liveLag <= 0 || liveLag >= float64(wait.Milliseconds()) {
		t.Errorf("bus_lag_ms of live records: %v; want above 0 and under %d", liveLag, wait.Milliseconds())
	}
	if code := stop(); code != 0 {
		t.Fatalf("process exited %d", code)
	}
	if !strings.Contains(logs.String(), "bus_lag_ms=") {
		t.Errorf("progress lines lack the bus lag:\n%s", tail(logs.String(), 5))
	}
}
