package spool

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

var benchRecord = bytes.Repeat([]byte("x"), 1024)

func BenchmarkAppend(b *testing.B) {
	s := testOpen(b, b.TempDir(), Options{MaxBytes: 1 << 40})
	b.SetBytes(int64(len(benchRecord)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Append(benchRecord); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDrain(b *testing.B) {
	s := testOpen(b, b.TempDir(), Options{MaxBytes: 1 << 40})
	for range b.N {
		if err := s.Append(benchRecord); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	publish := func(ctx context.Context, rec []byte, done func(error)) error {
		n++
		done(nil)
		if n == b.N {
			cancel()
		}
		return nil
	}
	b.SetBytes(int64(len(benchRecord)))
	b.ReportAllocs()
	b.ResetTimer()
	if err := Drain(ctx, s, publish, DrainOptions{}); !errors.Is(err, context.Canceled) {
		b.Fatal(err)
	}
	b.StopTimer()
	if st := s.Stats(); st.Records != 0 {
		b.Fatalf("not all committed: %+v", st)
	}
}
