package processor

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// PositionRange is the part of one bus partition a batch covers.
type PositionRange struct {
	Partition   int
	First, Last uint64 // bus positions (Kafka offsets, JetStream sequences)
	Count       int
}

// Token is the insert deduplication token of a batch of bus records: a
// hash of the group, the source and the position ranges the batch covers
// (partition, first and last position, count). The same records cut into
// the same batch, as when an insert is retried or a batch delivered again
// whole, give the same token, so ClickHouse drops the second insert. A
// batch cut differently after a redelivery gets another token; its rows
// keep their stable event ids and ReplacingMergeTree collapses them.
func Token(group, source string, ranges []PositionRange) string {
	rs := slices.Clone(ranges)
	slices.SortFunc(rs, func(a, b PositionRange) int { return a.Partition - b.Partition })
	b := make([]byte, 0, 64+32*len(rs))
	b = append(b, group...)
	b = append(b, 0)
	b = append(b, source...)
	for _, r := range rs {
		b = append(b, 0)
		b = strconv.AppendInt(b, int64(r.Partition), 10)
		b = append(b, ':')
		b = strconv.AppendUint(b, r.First, 10)
		b = append(b, '-')
		b = strconv.AppendUint(b, r.Last, 10)
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(r.Count), 10)
	}
	return fmt.Sprintf("mcptrail-v1-%016x-%d", xxhash.Sum64(b), len(rs))
}

// batch is what the processor holds until ClickHouse confirms it: the
// rows, the deliveries to acknowledge, the dead letters and the chain
// problems found meanwhile.
type batch struct {
	cols     Columns
	acks     []*bus.Delivery // stored as rows, or empty records
	dead     []deadDelivery  // to dead-letter after the insert
	problems []ChainReport
	ranges   map[int]*PositionRange
	bytes    int
	records  int
	started  time.Time // first delivery; zero when empty
}

type deadDelivery struct {
	d      *bus.Delivery
	reason string
}

func newBatch() *batch { return &batch{ranges: map[int]*PositionRange{}} }

// note records d's position.
func (b *batch) note(now time.Time, d *bus.Delivery) {
	if b.started.IsZero() {
		b.started = now
	}
	b.records++
	b.bytes += len(d.Value)
	r := b.ranges[d.Partition]
	if r == nil {
		b.ranges[d.Partition] = &PositionRange{Partition: d.Partition, First: d.Position, Last: d.Position, Count: 1}
		return
	}
	r.First, r.Last = min(r.First, d.Position), max(r.Last, d.Position)
	r.Count++
}

// empty reports whether the batch holds no delivery and no problem.
func (b *batch) empty() bool { return b.records == 0 && len(b.problems) == 0 }

// positionRanges returns the ranges in partition order.
func (b *batch) positionRanges() []PositionRange {
	out := make([]PositionRange, 0, len(b.ranges))
	for _, r := range b.ranges {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b PositionRange) int { return a.Partition - b.Partition })
	return out
}

// reset empties the batch, keeping the column capacity.
func (b *batch) reset() {
	b.cols.Reset()
	clear(b.acks)
	b.acks = b.acks[:0]
	b.dead = b.dead[:0]
	b.problems = nil
	clear(b.ranges)
	b.bytes, b.records, b.started = 0, 0, time.Time{}
}
