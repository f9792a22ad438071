package tap

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// lines1K is n JSON-RPC messages of 1 KiB each, newline included.
func lines1K(n int) []byte {
	head := `{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"`
	tail := `"}}` + "\n"
	line := head + strings.Repeat("x", 1024-len(head)-len(tail)) + tail
	return []byte(strings.Repeat(line, n))
}

func BenchmarkTap(b *testing.B) {
	in := lines1K(4096) // 4 MiB
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var frames, bad int
		tp, err := New(Config{Handler: func(f Frame) {
			frames++
			if f.Err != nil {
				bad++
			}
		}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Relay(context.Background(), io.Discard, bytes.NewReader(in), tp); err != nil {
			b.Fatal(err)
		}
		tp.Close()
		if bad != 0 || uint64(frames)+tp.Dropped() != 4096 {
			b.Fatalf("%d frames, %d bad, %d dropped", frames, bad, tp.Dropped())
		}
		b.ReportMetric(float64(tp.Dropped()), "dropped/op")
	}
}

// BenchmarkRelayNoTap is the baseline: the same copy without a tap.
func BenchmarkRelayNoTap(b *testing.B) {
	in := lines1K(4096)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Relay(context.Background(), io.Discard, bytes.NewReader(in), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTapNoDrop queues every frame, so each op includes validating
// and handling all of them: the tap's end-to-end throughput.
func BenchmarkTapNoDrop(b *testing.B) {
	in := lines1K(4096)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var frames int
		tp, err := New(Config{Handler: func(Frame) { frames++ }, QueueLen: 4096})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Relay(context.Background(), io.Discard, bytes.NewReader(in), tp); err != nil {
			b.Fatal(err)
		}
		tp.Close()
		if frames != 4096 {
			b.Fatalf("%d frames, %d dropped", frames, tp.Dropped())
		}
	}
}
