package bus

import "time"

// lagStale is how long the backlog of a partition counts after the last
// delivery from it. A partition with a backlog is delivered from again
// within moments (consumers take the records of their partitions
// interleaved); one that went quiet that long while records were pending
// has moved to another member of the group, which counts it now.
const lagStale = 10 * time.Second

// Lag follows how far a consumer is behind the bus, from the Stored and
// Pending of the deliveries it takes: the lag is how long the newest
// record of the latest batch had waited on the bus when it was taken, and
// the backlog is the sum over partitions of the records still behind the
// latest delivery from each.
//
// The zero Lag is ready to use. It is not safe for concurrent use: the
// consumer's goroutine calls it and copies the values where other
// goroutines (metrics) read them.
type Lag struct {
	parts []partitionBacklog // by partition
	now   int64              // Unix nanoseconds of the latest Observe or Idle
	lag   time.Duration
	peak  time.Duration // highest lag since the last Peak
}

// partitionBacklog is the Pending of the latest delivery from a partition.
type partitionBacklog struct {
	pending uint64
	seen    int64 // Unix nanoseconds of its Observe
}

// Observe notes the deliveries of one Fetch, taken at now.
func (l *Lag) Observe(now time.Time, ds []*Delivery) {
	l.now = now.UnixNano()
	var newest time.Time
	for _, d := range ds {
		if d.Stored.After(newest) {
			newest = d.Stored
		}
		if d.Partition < 0 {
			continue
		}
		if d.Partition >= len(l.parts) {
			l.parts = append(l.parts, make([]partitionBacklog, d.Partition+1-len(l.parts))...)
		}
		l.parts[d.Partition] = partitionBacklog{pending: d.Pending, seen: l.now}
	}
	if newest.IsZero() {
		return // the bus gave no timestamps
	}
	l.lag = max(0, now.Sub(newest)) // 0 when the clocks disagree
	l.peak = max(l.peak, l.lag)
}

// Idle notes that the consumer waited for records until now and none
// came. With no backlog left, the lag is 0: no record waits on the bus.
func (l *Lag) Idle(now time.Time) {
	l.now = now.UnixNano()
	if l.Pending() == 0 {
		l.lag = 0
	}
}

// Lag is how long the newest record of the latest batch had waited on the
// bus when the consumer took it, or 0 once the consumer is idle with no
// backlog.
func (l *Lag) Lag() time.Duration { return l.lag }

// Pending is the backlog: the records stored behind the latest delivery
// of each partition delivered from in the last 10 seconds.
func (l *Lag) Pending() uint64 {
	var n uint64
	for _, p := range l.parts {
		if l.now-p.seen < int64(lagStale) {
			n += p.pending
		}
	}
	return n
}

// Peak returns the highest lag since the last call to Peak, or the
// current lag when it is higher (no batch since, or the consumer stuck),
// and starts a new period.
func (l *Lag) Peak() time.Duration {
	p := max(l.peak, l.lag)
	l.peak = 0
	return p
}
