package detector

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/cputime"
	"github.com/mcptrail/mcptrail/schemas"
)

// devRecords reads the dev data set, or skips when ../shared is absent.
func devRecords(tb testing.TB) []schemas.Record {
	tb.Helper()
	path := filepath.Join("..", "..", "shared", "datasets", "agentdojo-dev", "agentdojo-dev.capture.jsonl")
	f, err := os.Open(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("data set: %v", err)
		}
		tb.Skipf("data set: %v", err)
	}
	defer f.Close()
	r := schemas.NewReader(f)
	var recs []schemas.Record
	for {
		var rec schemas.Record
		err := r.NextInto(&rec)
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			tb.Fatal(err)
		}
		recs = append(recs, rec)
	}
}

// noEviction keeps every session of the dev data set open.
const noEviction = 100 * 365 * 24 * time.Hour

// BenchmarkEngine runs the engine over the dev data set (records already
// decoded): events per second of wall time and of CPU time, per core.
func BenchmarkEngine(b *testing.B) {
	recs := devRecords(b)
	events := 0
	for i := range recs {
		events += len(schemas.NewEvents(&recs[i]))
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU(b)
	for range b.N {
		eng, err := New(Options{})
		if err != nil {
			b.Fatal(err)
		}
		for i := range recs {
			eng.Observe(&recs[i], func(Finding) {})
		}
		eng.Close(func(Finding) {})
	}
	b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(events*b.N)/(processCPU(b)-cpu).Seconds(), "events/cpu-s")
}

// processCPU is the CPU time the process has used so far. On a shared
// machine events per CPU second vary less than events per second.
func processCPU(b *testing.B) time.Duration {
	b.Helper()
	d, err := cputime.Process()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkSessionMemory reports the heap an active session holds: every
// dev session is kept open (no eviction: the sessions of the data set span
// days of records) and the heap is measured. The engine's bounded caches
// are part of it, shared by all the sessions.
func BenchmarkSessionMemory(b *testing.B) {
	recs := devRecords(b)
	b.ReportAllocs()
	var perSession float64
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		eng, err := New(Options{IdleAfter: noEviction})
		if err != nil {
			b.Fatal(err)
		}
		for i := range recs {
			eng.Observe(&recs[i], func(Finding) {})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perSession = float64(after.HeapAlloc-before.HeapAlloc) / float64(eng.Sessions())
		runtime.KeepAlive(eng)
	}
	b.ReportMetric(perSession, "bytes/session")
}
