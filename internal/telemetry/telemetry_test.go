package telemetry_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcptrail/mcptrail/internal/telemetry"
	"github.com/mcptrail/mcptrail/internal/telemetry/promreg"
	"github.com/mcptrail/mcptrail/internal/telemetry/telemetrytest"
	"github.com/mcptrail/mcptrail/internal/telemetry/vmset"
)

func TestServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := promreg.NewRegistry()
	var n atomic.Int64
	promreg.CounterFunc(reg, "mcptrail_test_things_total", "things", n.Load)
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mcptrail_test_duration_seconds", Help: "d"})
	reg.MustRegister(h)
	ready := telemetry.NewReadiness("connecting to the test")
	srv, err := telemetry.Start(ctx, telemetry.Config{Addr: "127.0.0.1:0", Metrics: promreg.Handler(reg), Ready: ready.Check, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()

	fams := telemetrytest.Scrape(t, addr)
	if m := fams.Missing("mcptrail_test_things_total", "mcptrail_test_duration_seconds", "go_goroutines", "process_cpu_seconds_total", "go_build_info"); len(m) > 0 {
		t.Fatalf("missing metric families %v", m)
	}
	n.Store(42)
	h.Observe(0.3)
	fams = telemetrytest.Scrape(t, addr)
	if v, _ := fams.Value("mcptrail_test_things_total"); v != 42 {
		t.Errorf("counter %v, want 42", v)
	}
	if v, _ := fams.Value("mcptrail_test_duration_seconds"); v != 1 {
		t.Errorf("histogram count %v, want 1", v)
	}
	if v, ok := fams.Value("promhttp_metric_handler_requests_total", "code", "200"); !ok || v < 1 {
		t.Errorf("scrapes counted %v (%v), want at least 1", v, ok)
	}

	if code, body := telemetrytest.Get(t, addr, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := telemetrytest.Get(t, addr, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "connecting to the test") {
		t.Errorf("/readyz while starting: %d %q", code, body)
	}
	var down atomic.Bool
	down.Store(true)
	ready.Ready(func(context.Context) error {
		if down.Load() {
			return errors.New("clickhouse: connection refused")
		}
		return nil
	})
	if code, body := telemetrytest.Get(t, addr, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "connection refused") {
		t.Errorf("/readyz with a failing check: %d %q", code, body)
	}
	down.Store(false)
	if code, body := telemetrytest.Get(t, addr, "/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz when ready: %d %q", code, body)
	}
	if code, _ := telemetrytest.Get(t, addr, "/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing: %d, want 404", code)
	}

	// The command's context ending stops the server.
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still listening 5 s after the context ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close after the context ended: %v", err)
	}
}

func TestStartAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, addr := range []string{ln.Addr().String(), "127.0.0.1:http-nope", "no-port"} {
		_, err := telemetry.Start(context.Background(), telemetry.Config{Addr: addr, Metrics: vmset.Handler(vmset.NewSet())})
		if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "--metrics-listen") {
			t.Errorf("Start on %q: %v, want an error naming the address and the flag", addr, err)
		}
	}
}

func TestRegistriesAreSeparate(t *testing.T) {
	a, b := promreg.NewRegistry(), promreg.NewRegistry()
	promreg.CounterFunc(a, "mcptrail_test_only_in_a_total", "a", func() int64 { return 1 })
	fams, err := b.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "mcptrail_test_only_in_a_total" {
			t.Fatal("a metric registered in one registry shows in another")
		}
	}
}
