package bus

import (
	"testing"
	"time"
)

func TestLag(t *testing.T) {
	t0 := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	deliv := func(partition int, stored time.Duration, pending uint64) *Delivery {
		return &Delivery{Partition: partition, Stored: at(stored), Pending: pending}
	}
	// step is one call on the Lag and what it reads afterwards.
	type step struct {
		observe   []*Delivery // Observe these at at(now); nil: Idle at at(now)
		now       time.Duration
		lag       time.Duration
		pending   uint64
		peak      time.Duration // checked (and reset) when checkPeak
		checkPeak bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"newest record of the batch sets the lag; last record of each partition the backlog", []step{
			{observe: []*Delivery{deliv(0, 1*time.Second, 9), deliv(1, 3*time.Second, 4), deliv(0, 2*time.Second, 8)}, now: 5 * time.Second,
				lag: 2 * time.Second, pending: 12},
		}},
		{"backlog drains, idle clears the lag", []step{
			{observe: []*Delivery{deliv(2, 0, 5)}, now: 4 * time.Second, lag: 4 * time.Second, pending: 5},
			{observe: []*Delivery{deliv(2, time.Second, 0)}, now: 4500 * time.Millisecond, lag: 3500 * time.Millisecond, pending: 0},
			{now: 5 * time.Second, lag: 0, pending: 0, peak: 4 * time.Second, checkPeak: true},
			{now: 6 * time.Second, lag: 0, pending: 0, peak: 0, checkPeak: true},
		}},
		{"idle with a backlog keeps the lag (consumer stuck)", []step{
			{observe: []*Delivery{deliv(0, 0, 100)}, now: 2 * time.Second, lag: 2 * time.Second, pending: 100},
			{now: 3 * time.Second, lag: 2 * time.Second, pending: 100, peak: 2 * time.Second, checkPeak: true},
			{now: 4 * time.Second, lag: 2 * time.Second, pending: 100, peak: 2 * time.Second, checkPeak: true},
		}},
		{"a partition not delivered from for 10 s no longer counts", []step{
			{observe: []*Delivery{deliv(0, 0, 100), deliv(3, 0, 7)}, now: time.Second, lag: time.Second, pending: 107},
			{observe: []*Delivery{deliv(3, 10*time.Second, 6)}, now: 11 * time.Second, lag: time.Second, pending: 6},
			{now: 25 * time.Second, lag: 0, pending: 0},
		}},
		{"no timestamps: backlog only", []step{
			{observe: []*Delivery{{Partition: 1, Pending: 3}}, now: time.Second, lag: 0, pending: 3},
		}},
		{"stored after now (clock skew) counts 0", []step{
			{observe: []*Delivery{deliv(0, 2*time.Second, 0)}, now: time.Second, lag: 0, pending: 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Lag
			for i, s := range tt.steps {
				if s.observe != nil {
					l.Observe(at(s.now), s.observe)
				} else {
					l.Idle(at(s.now))
				}
				if l.Lag() != s.lag || l.Pending() != s.pending {
					t.Errorf("step %d: lag %v pending %d, want %v and %d", i, l.Lag(), l.Pending(), s.lag, s.pending)
				}
				if s.checkPeak {
					if p := l.Peak(); p != s.peak {
						t.Errorf("step %d: peak %v, want %v", i, p, s.peak)
					}
				}
			}
		})
	}
}

// BenchmarkLagObserve is the cost a consumer pays per fetched batch of
// 1,000 records over 8 partitions.
func BenchmarkLagObserve(b *testing.B) {
	ds := make([]*Delivery, 1000)
	now := time.Now()
	for i := range ds {
		ds[i] = &Delivery{Partition: i % 8, Stored: now.Add(-time.Duration(len(ds)-i) * time.Millisecond), Pending: uint64(len(ds) - i)}
	}
	var l Lag
	b.ReportAllocs()
	for b.Loop() {
		l.Observe(now, ds)
	}
}
