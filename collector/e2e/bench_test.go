package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/latency"
)

// benchLine is a typical tools/call request of about 1 KiB.
var benchLine = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_text_file","arguments":{"path":"/home/ana/notes/` +
	strings.Repeat("n", 900) + `.md"}}}` + "\n"

// echoPeer is a running stdio process that echoes lines (cat), directly or
// through the collector.
type echoPeer struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startEcho(b *testing.B, args ...string) *echoPeer {
	b.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &echoPeer{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}
	b.Cleanup(func() { _ = in.Close(); _ = cmd.Wait() })
	return p
}

// roundTrip writes one line and reads its echo.
func (p *echoPeer) roundTrip(b *testing.B, line string) time.Duration {
	t0 := time.Now()
	if _, err := io.WriteString(p.in, line); err != nil {
		b.Fatal(err)
	}
	if _, err := p.out.ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

// cpuSeconds is the user plus system CPU time a process used so far.
func cpuSeconds(b *testing.B, pid int) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // clock ticks; USER_HZ is 100 on Linux
}

func wrapArgs(b *testing.B, dir string) []string {
	return []string{collectorBinary(b), "wrap", "--server-name", "echo", "--sink", "file:" + filepath.Join(dir, "capture.jsonl"),
		"--state-dir", dir, "--log-level", "error", "--", "cat"}
}

// BenchmarkStdioRoundTrip measures what the collector adds to a stdio
// round trip (goal: p99 at most 200 µs), and the collector's CPU time per
// 10k messages, against cat as the server.
func BenchmarkStdioRoundTrip(b *testing.B) {
	direct := startEcho(b, "cat")
	wrapped := startEcho(b, wrapArgs(b, b.TempDir())...)
	for range 100 { // warm up both
		direct.roundTrip(b, benchLine)
		wrapped.roundTrip(b, benchLine)
	}
	cpu0 := cpuSeconds(b, wrapped.cmd.Process.Pid)
	var with, without latency.Samples
	b.SetBytes(int64(len(benchLine)))
	b.ReportAllocs()
	for b.Loop() {
		without.Add(direct.roundTrip(b, benchLine))
		with.Add(wrapped.roundTrip(b, benchLine))
	}
	latency.ReportAdded(b, &with, &without)
	// Each round trip is two messages, both captured.
	b.ReportMetric((cpuSeconds(b, wrapped.cmd.Process.Pid)-cpu0)*1000/float64(2*b.N)*10000, "cpu-ms/10k-msgs")
}

// BenchmarkStdioRSSAt1kPerSecond sends 1000 messages a second through the
// collector and reports its peak resident memory.
func BenchmarkStdioRSSAt1kPerSecond(b *testing.B) {
	wrapped := startEcho(b, wrapArgs(b, b.TempDir())...)
	peak := 0
	for b.Loop() {
		start := time.Now()
		for i := range 500 { // 500 round trips = 1000 messages in one second
			wrapped.roundTrip(b, benchLine)
			if next := start.Add(time.Duration(i+1) * 2 * time.Millisecond); time.Until(next) > 0 {
				time.Sleep(time.Until(next))
			}
			if i%100 == 0 {
				peak = max(peak, rssKiB(b, wrapped.cmd.Process.Pid))
			}
		}
	}
	b.ReportMetric(float64(peak), "peak-rss-KiB")
}
