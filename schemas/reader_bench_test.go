package schemas

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// devCapture is the dev data set's capture file, beside the repository.
var devCapture = filepath.Join("..", "..", "shared", "datasets", "agentdojo-dev", "agentdojo-dev.capture.jsonl")

func loadDevCapture(tb testing.TB) []byte {
	tb.Helper()
	data, err := os.ReadFile(devCapture)
	if err != nil {
		tb.Skipf("dev data set not available: %v", err)
	}
	return data
}

// benchRead reads the dev data set b.N times, calling each for every
// record, and reports records/s and unit/s, unit counting what each returns.
func benchRead(b *testing.B, unit string, each func(*Record) int) {
	data := loadDevCapture(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		r := NewReader(bytes.NewReader(data))
		var rec Record
		for {
			err := r.NextInto(&rec)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += int64(each(&rec))
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), unit)
}

// BenchmarkReader decodes the dev data set into typed records; MB/s is the
// figure the foundation issue sets a goal for (>= 150 MB/s on one core).
func BenchmarkReader(b *testing.B) {
	benchRead(b, "records/s", func(*Record) int { return 1 })
}

// BenchmarkReaderEvents is BenchmarkReader plus splitting each record into
// classified audit events (the JSON-RPC envelope parsed).
func BenchmarkReaderEvents(b *testing.B) {
	benchRead(b, "events/s", func(rec *Record) int { return len(NewEvents(rec)) })
}
