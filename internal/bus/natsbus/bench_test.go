package natsbus

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
	"github.com/mcptrail/mcptrail/internal/cputime"
)

const (
	benchRecordBytes = 300
	benchSessions    = 5000
)

// benchMessages returns n 300-byte records keyed by many sessions.
func benchMessages(n int) []bus.Message {
	pad := strings.Repeat("x", benchRecordBytes)
	keys := make([][]byte, benchSessions)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "session-%05d", i)
	}
	out := make([]bus.Message, n)
	for i := range out {
		v := fmt.Appendf(nil, "{\"seq\":%d,\"pad\":\"", i)
		v = append(v, pad[:benchRecordBytes-len(v)-2]...)
		v = append(v, "\"}"...)
		out[i] = bus.Message{Key: keys[i%benchSessions], Value: v}
	}
	return out
}

// publishAllBench publishes msgs and waits for their acknowledgements.
func publishAllBench(b *testing.B, bs bus.Bus, msgs []bus.Message) {
	b.Helper()
	ctx := testCtx(b, 5*time.Minute)
	p, err := bs.Publisher(ctx, bus.PublisherConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var failed atomic.Int64
	done := func(err error) {
		if err != nil {
			failed.Add(1)
		}
	}
	for _, m := range msgs {
		if err := p.Publish(ctx, m, done); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		b.Fatal(err)
	}
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d publishes failed", n)
	}
}

func BenchmarkPublish(b *testing.B) {
	ts := startServer(b, natsserver.Config{})
	bs := ts.open(b, bus.Config{Topic: testTopic("benchpub")})
	msgs := benchMessages(b.N)
	b.SetBytes(benchRecordBytes)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime(b)
	publishAllBench(b, bs, msgs)
	reportRate(b, start, cpu)
}

func BenchmarkConsume(b *testing.B) {
	ts := startServer(b, natsserver.Config{})
	bs := ts.open(b, bus.Config{Topic: testTopic("benchcons")})
	publishAllBench(b, bs, benchMessages(b.N))
	ctx := testCtx(b, 5*time.Minute)
	c, err := bs.Consumer(ctx, bus.ConsumerConfig{Group: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.SetBytes(benchRecordBytes)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime(b)
	for got := 0; got < b.N; {
		ds, err := c.Fetch(ctx, 1000)
		if err != nil {
			b.Fatalf("fetch after %d of %d: %v", got, b.N, err)
		}
		if err := c.Ack(ctx, ds...); err != nil {
			b.Fatal(err)
		}
		got += len(ds)
	}
	reportRate(b, start, cpu)
}

// cpuTime is the CPU time the process (client and in-process server) has
// used so far.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	d, err := cputime.Process()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// reportRate reports records/s since start and the CPU time per record
// since cpu. On a shared machine the CPU time per record varies less than
// the wall time.
func reportRate(b *testing.B, start time.Time, cpu time.Duration) {
	b.Helper()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
}
