// Package latency collects round-trip times in benchmarks and reports
// their quantiles, so that latency goals (a p99, say) live in benchmarks
// and not in timed unit tests.
package latency

import (
	"slices"
	"testing"
	"time"
)

// Samples holds measured durations.
type Samples struct{ d []time.Duration }

// Add records one duration.
func (s *Samples) Add(d time.Duration) { s.d = append(s.d, d) }

// Len is the number of samples.
func (s *Samples) Len() int { return len(s.d) }

// Quantile returns the q-quantile (0 < q <= 1) by the nearest-rank method,
// or 0 without samples.
func (s *Samples) Quantile(q float64) time.Duration {
	if len(s.d) == 0 {
		return 0
	}
	sorted := slices.Clone(s.d)
	slices.Sort(sorted)
	rank := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// ReportAdded reports the p50 and p99 of with minus those of without, in
// microseconds, as "added-p50-µs" and "added-p99-µs", plus the raw
// quantiles of both.
func ReportAdded(b *testing.B, with, without *Samples) {
	b.Helper()
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.50}, {"p99", 0.99}} {
		w, wo := with.Quantile(q.q), without.Quantile(q.q)
		b.ReportMetric(us(w), q.name+"-µs")
		b.ReportMetric(us(wo), "direct-"+q.name+"-µs")
		b.ReportMetric(us(w-wo), "added-"+q.name+"-µs")
	}
}
