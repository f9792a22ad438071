package cli

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/telemetry/telemetrytest"
)

// TestBusMetrics runs mcptrail bus with --metrics-listen and reads its
// endpoints.
func TestBusMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- Main(ctx, []string{"bus", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--metrics-listen", "127.0.0.1:0"},
			strings.NewReader(""), &stdout, &stderr)
	}()
	addr := telemetrytest.Addr(t, &stderr, 30*time.Second)
	telemetrytest.WaitStatus(t, addr, "/readyz", http.StatusOK, 30*time.Second)
	if !strings.Contains(stderr.String(), "bus ready") {
		t.Errorf("ready before the bus said so:\n%s", stderr.String())
	}
	if code, _ := telemetrytest.Get(t, addr, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	if m := telemetrytest.Scrape(t, addr).Missing("go_goroutines", "process_resident_memory_bytes", "go_build_info"); len(m) > 0 {
		t.Errorf("metric families missing: %v", m)
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("bus exited %d: %s", c, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("bus did not stop")
	}
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
			var stdout, stderr syncBuffer
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
