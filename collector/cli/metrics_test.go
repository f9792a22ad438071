package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	dto "github.com/prometheus/client_model/go"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/busurl"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
	"github.com/mcptrail/mcptrail/internal/syncbuf"
	"github.com/mcptrail/mcptrail/internal/telemetry/telemetrytest"
)

// TestMain serves /metrics with # HELP and # TYPE lines, as
// cmd/mcptrail-collector's main does.
func TestMain(m *testing.M) {
	metrics.ExposeMetadata(true)
	os.Exit(m.Run())
}

// collectorMetrics are the families every collector serves.
var collectorMetrics = []string{
	"mcptrail_collector_records_captured_total", "mcptrail_collector_records_dropped_total",
	"go_goroutines", "go_memstats_heap_alloc_bytes", "process_start_time_seconds",
}

// spoolMetrics are the families a collector with a bus sink adds.
var spoolMetrics = []string{
	"mcptrail_collector_records_published_total", "mcptrail_collector_publish_errors_total",
	"mcptrail_collector_records_refused_total", "mcptrail_collector_bus_connect_errors_total",
	"mcptrail_collector_spool_records", "mcptrail_collector_spool_bytes", "mcptrail_collector_spool_disk_bytes",
	"mcptrail_collector_spool_oldest_record_age_seconds", "mcptrail_collector_spool_appended_records_total",
	"mcptrail_collector_spool_corrupt_bytes_total",
}

// checkTypes fails the test when a family of fams is missing or not of
// the type wanted.
func checkTypes(t *testing.T, fams telemetrytest.Families, want map[string]dto.MetricType) {
	t.Helper()
	for name, typ := range want {
		if f := fams[name]; f == nil || f.GetType() != typ {
			t.Errorf("%s: type %v (present: %v), want %v", name, f.GetType(), f != nil, typ)
		}
	}
}

// TestWrapMetrics wraps cat, with --metrics-listen from the environment,
// and reads the endpoints while it runs: two records (the request and its
// echo) captured.
func TestWrapMetrics(t *testing.T) {
	dir := t.TempDir()
	stdin, feed := io.Pipe()
	var stdout, stderr syncbuf.Buffer
	env := map[string]string{"MCPTRAIL_COLLECTOR_METRICS_LISTEN": "127.0.0.1:0"}
	code := make(chan int, 1)
	go func() {
		code <- Main(context.Background(), []string{"wrap", "--server-name", "cat", "--sink", "file:" + filepath.Join(dir, "c.jsonl"),
			"--state-dir", dir, "--", "cat"}, stdin, &stdout, &stderr, func(k string) string { return env[k] })
	}()
	addr := telemetrytest.Addr(t, &stderr, 30*time.Second)
	telemetrytest.WaitStatus(t, addr, "/readyz", http.StatusOK, 30*time.Second)
	line := `{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n"
	if _, err := io.WriteString(feed, line); err != nil {
		t.Fatal(err)
	}
	telemetrytest.WaitValue(t, addr, 30*time.Second, telemetrytest.Equals(2), "mcptrail_collector_records_captured_total")
	fams := telemetrytest.Scrape(t, addr)
	if m := fams.Missing(collectorMetrics...); len(m) > 0 {
		t.Errorf("metric families missing: %v", m)
	}
	if m := fams.Missing(spoolMetrics...); len(m) != len(spoolMetrics) {
		t.Errorf("a file sink has no spool, yet /metrics has %d spool families", len(spoolMetrics)-len(m))
	}
	if v, _ := fams.Value("mcptrail_collector_records_dropped_total"); v != 0 {
		t.Errorf("dropped %v, want 0", v)
	}
	checkTypes(t, fams, map[string]dto.MetricType{
		"mcptrail_collector_records_captured_total": dto.MetricType_COUNTER,
		"mcptrail_collector_records_dropped_total":  dto.MetricType_COUNTER,
		"go_goroutines":             dto.MetricType_GAUGE,
		"process_cpu_seconds_total": dto.MetricType_COUNTER,
	})
	if stdout.String() != line {
		t.Errorf("relayed %q, want %q", stdout.String(), line)
	}
	_ = feed.Close()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("wrap exited %d: %s", c, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("wrap did not exit after its server did")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the metrics endpoints outlive wrap")
	}
}

var proxyAddr = regexp.MustCompile(`proxy: listening" addr=(\S+)`)

// TestProxyMetrics runs proxy, with metrics-listen from its YAML config,
// in front of an HTTP MCP server while the bus is unreachable: the
// records wait in the spool, and the spool metrics say so.
func TestProxyMetrics(t *testing.T) {
	dir := t.TempDir()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
	}))
	defer upstream.Close()
	// A port nothing listens on: the bus is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadBus := ln.Addr().String()
	_ = ln.Close()
	config := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(config, []byte("metrics-listen: 127.0.0.1:0\nsink: nats://"+deadBus+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	code := make(chan int, 1)
	go func() {
		code <- Main(ctx, []string{"proxy", "--config", config, "--server-name", "up", "--listen", "127.0.0.1:0",
			"--upstream", upstream.URL + "/mcp", "--state-dir", dir}, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
	}()
	addr := telemetrytest.Addr(t, &stderr, 30*time.Second)
	telemetrytest.WaitStatus(t, addr, "/readyz", http.StatusOK, 30*time.Second)
	m := proxyAddr.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("ready before the proxy listened:\n%s", stderr.String())
	}
	resp, err := http.Post("http://"+m[1]+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()

	telemetrytest.WaitValue(t, addr, 30*time.Second, telemetrytest.Equals(2), "mcptrail_collector_records_captured_total")
	telemetrytest.WaitValue(t, addr, 30*time.Second, telemetrytest.Above(0), "mcptrail_collector_spool_oldest_record_age_seconds")
	telemetrytest.WaitValue(t, addr, 30*time.Second, telemetrytest.Above(0), "mcptrail_collector_bus_connect_errors_total")
	fams := telemetrytest.Scrape(t, addr)
	if m := fams.Missing(append(collectorMetrics, spoolMetrics...)...); len(m) > 0 {
		t.Errorf("metric families missing: %v", m)
	}
	for name, want := range map[string]float64{
		"mcptrail_collector_spool_records":                2,
		"mcptrail_collector_spool_appended_records_total": 2,
		"mcptrail_collector_records_dropped_total":        0,
		"mcptrail_collector_records_published_total":      0,
		"mcptrail_collector_publish_errors_total":         0, // never connected: nothing was published
	} {
		if v, _ := fams.Value(name); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	for _, name := range []string{"mcptrail_collector_spool_bytes", "mcptrail_collector_spool_disk_bytes"} {
		if v, _ := fams.Value(name); v <= 0 {
			t.Errorf("%s = %v, want more than 0", name, v)
		}
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("proxy exited %d: %s", c, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("proxy did not stop")
	}
}

// TestWrapMetricsBus wraps cat with a real NATS JetStream bus as the sink
// and follows the delivery counters on /metrics: every record captured is
// published, and counted, once; while the bus is away the publish errors
// and the spool grow and published stands still; when it is back, the
// spool drains and published catches up.
func TestWrapMetricsBus(t *testing.T) {
	const before, during = 20, 5 // lines sent with the bus up, and away; cat echoes each
	natsDir := t.TempDir()
	nats, err := natsserver.Start(context.Background(), natsserver.Config{DataDir: natsDir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { nats.Shutdown() }()
	busAddr := nats.Addr()
	busURL := "nats://" + busAddr

	dir := t.TempDir()
	stdin, feed := io.Pipe()
	defer feed.Close()
	var stdout, stderr syncbuf.Buffer
	code := make(chan int, 1)
	go func() {
		code <- Main(context.Background(), []string{"wrap", "--server-name", "cat", "--sink", busURL, "--state-dir", dir,
			"--metrics-listen", "127.0.0.1:0", "--", "cat"}, stdin, &stdout, &stderr, func(string) string { return "" })
	}()
	addr := telemetrytest.Addr(t, &stderr, 30*time.Second)
	telemetrytest.WaitStatus(t, addr, "/readyz", http.StatusOK, 30*time.Second)
	send := func(from, to int) {
		t.Helper()
		for i := from; i <= to; i++ {
			if _, err := fmt.Fprintf(feed, `{"jsonrpc":"2.0","id":%d,"method":"ping"}`+"\n", i); err != nil {
				t.Fatal(err)
			}
		}
	}
	atLeast := func(want float64) func(float64) bool { return func(v float64) bool { return v >= want } }

	// The bus is up: each record is published once.
	send(1, before)
	telemetrytest.WaitValue(t, addr, 30*time.Second, telemetrytest.Equals(2*before), "mcptrail_collector_records_captured_total")
	telemetrytest.WaitValue(t, addr, 30*time.Second, telemetrytest.Equals(2*before), "mcptrail_collector_records_published_total")
	fams := telemetrytest.Scrape(t, addr)
	for name, want := range map[string]float64{
		"mcptrail_collector_publish_errors_total":         0,
		"mcptrail_collector_records_refused_total":        0,
		"mcptrail_collector_bus_connect_errors_total":     0,
		"mcptrail_collector_records_dropped_total":        0,
		"mcptrail_collector_spool_records":                0,
		"mcptrail_collector_spool_appended_records_total": 2 * before,
	} {
		if v, _ := fams.Value(name); v != want {
			t.Errorf("bus up: %s = %v, want %v", name, v, want)
		}
	}
	checkTypes(t, fams, map[string]dto.MetricType{
		"mcptrail_collector_records_published_total":  dto.MetricType_COUNTER,
		"mcptrail_collector_publish_errors_total":     dto.MetricType_COUNTER,
		"mcptrail_collector_records_refused_total":    dto.MetricType_COUNTER,
		"mcptrail_collector_bus_connect_errors_total": dto.MetricType_COUNTER,
		"mcptrail_collector_spool_records":            dto.MetricType_GAUGE,
	})
	if n := countOnBus(t, busURL); n != 2*before {
		t.Errorf("the bus holds %d records, want the %d published", n, 2*before)
	}

	// The bus goes away: the records wait in the spool.
	nats.Shutdown()
	send(before+1, before+during)
	telemetrytest.WaitValue(t, addr, 30*time.Second, telemetrytest.Equals(2*(before+during)), "mcptrail_collector_records_captured_total")
	telemetrytest.WaitValue(t, addr, 30*time.Second, telemetrytest.Equals(2*during), "mcptrail_collector_spool_records")
	telemetrytest.WaitValue(t, addr, 30*time.Second, telemetrytest.Above(0), "mcptrail_collector_publish_errors_total")
	telemetrytest.WaitValue(t, addr, 30*time.Second, telemetrytest.Above(0), "mcptrail_collector_spool_oldest_record_age_seconds")
	if v, _ := telemetrytest.Scrape(t, addr).Value("mcptrail_collector_records_published_total"); v != 2*before {
		t.Errorf("bus away: published %v, want still %d", v, 2*before)
	}

	// It comes back on the same port and store: the spool drains.
	_, port, _ := strings.Cut(busAddr, ":")
	p, _ := strconv.Atoi(port)
	if nats, err = natsserver.Start(context.Background(), natsserver.Config{DataDir: natsDir, Port: p}); err != nil {
		t.Fatal(err)
	}
	telemetrytest.WaitValue(t, addr, 60*time.Second, telemetrytest.Equals(0), "mcptrail_collector_spool_records")
	telemetrytest.WaitValue(t, addr, 30*time.Second, atLeast(2*(before+during)), "mcptrail_collector_records_published_total")
	if n := countOnBus(t, busURL); n != 2*(before+during) {
		t.Errorf("the bus holds %d records, want %d", n, 2*(before+during))
	}

	_ = feed.Close()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("wrap exited %d: %s", c, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("wrap did not exit after its server did")
	}
}

// countOnBus reads every record on the bus at url with a consumer group
// of its own and returns how many different ones there are; a record
// stored twice fails the test.
func countOnBus(t *testing.T, url string) int {
	t.Helper()
	ctx := context.Background()
	b, err := busurl.Open(ctx, url, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := b.Consumer(ctx, bus.ConsumerConfig{Group: fmt.Sprintf("count-%d", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen := map[string]bool{}
	for {
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ds, err := c.Fetch(fctx, 100)
		timedOut := fctx.Err() != nil
		cancel()
		if err != nil && !timedOut {
			t.Fatalf("fetch after %d records: %v", len(seen), err)
		}
		if len(ds) == 0 {
			return len(seen)
		}
		for _, d := range ds {
			if seen[string(d.Value)] && !d.Redelivered {
				t.Errorf("record stored twice on the bus: %s", d.Value)
			}
			seen[string(d.Value)] = true
		}
		if err := c.Ack(ctx, ds...); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMetricsListenInUse: the collector refuses to start, before it runs
// the server, when its metrics address cannot be bound.
func TestMetricsListenInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	code, _, errOut := runCollector(t, nil, "", "wrap", "--server-name", "x", "--sink", "file:"+filepath.Join(dir, "c.jsonl"),
		"--state-dir", dir, "--metrics-listen", ln.Addr().String(), "--", "touch", marker)
	if code != ExitConfig || !strings.Contains(errOut, ln.Addr().String()) || !strings.Contains(errOut, "--metrics-listen") {
		t.Errorf("exit %d, stderr %q; want %d and an error naming the address and the flag", code, errOut, ExitConfig)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the server ran although the collector could not start")
	}
}
