package alert

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/detector"
)

// BenchmarkNotifierAdd measures Add with one output that accepts all:
// "new" feeds distinct findings, ten per session, so an incident opens every
// tenth finding and the 10,000-incident cap evicts; "duplicate" feeds
// findings already seen (the dedup path).
func BenchmarkNotifierAdd(b *testing.B) {
	ctx := context.Background()
	setup := func(b *testing.B) (*Notifier, *recorder) {
		out := &recorder{name: "rec"}
		cfg := DefaultConfig()
		cfg.Outputs = []Output{out}
		n, err := NewNotifier(cfg)
		if err != nil {
			b.Fatal(err)
		}
		return n, out
	}
	mk := func(i int) detector.Finding {
		return finding("session-"+strconv.Itoa(i/10), "rule-"+strconv.Itoa(i%7), detector.High, time.Duration(i)*time.Millisecond, strconv.Itoa(i))
	}
	b.Run("new", func(b *testing.B) {
		n, out := setup(b)
		fs := make([]detector.Finding, b.N)
		for i := range fs {
			fs[i] = mk(i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := n.Add(ctx, fs[i]); err != nil {
				b.Fatal(err)
			}
			if len(out.sends) > 1000 {
				out.sends = out.sends[:0]
			}
		}
	})
	b.Run("duplicate", func(b *testing.B) {
		n, _ := setup(b)
		fs := make([]detector.Finding, 10_000)
		for i := range fs {
			fs[i] = mk(i)
		}
		if err := n.Add(ctx, fs...); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := n.Add(ctx, fs[i%len(fs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
