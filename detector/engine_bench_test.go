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
// The messages are packed in one buffer, one after the other: a
// benchmark holds the whole data set, and thirty thousand messages each
// in its own allocation would have the collector mark them again at every
// cycle, work the engine does not cause (a reader hands it one record at
// a time).
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
			packMessages(recs)
			return recs
		}
		if err != nil {
			tb.Fatal(err)
		}
		recs = append(recs, rec)
	}
}

// packMessages moves the records' messages into one buffer.
func packMessages(recs []schemas.Record) {
	n := 0
	for i := range recs {
		n += len(recs[i].Msg)
	}
	buf := make([]byte, 0, n)
	for i := range recs {
		if len(recs[i].Msg) == 0 {
			continue
		}
		at := len(buf)
		buf = append(buf, recs[i].Msg...)
		recs[i].Msg = buf[at:len(buf):len(buf)]
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
