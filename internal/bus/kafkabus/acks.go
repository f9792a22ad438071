package kafkabus

// partAcks tracks, for one partition and one run of deliveries (the
// records delivered since the reader last started the partition from its
// committed offset), which delivered records are acked, to find the offset
// to commit: the one after the last record of the longest acked prefix of
// the deliveries. A record that is not acked holds back the commit of all
// later ones, so it is delivered again after a restart or a rebalance.
type partAcks struct {
	queue []int64 // delivered offsets not yet committable, in order
	head  int
	acked map[int64]struct{} // acked offsets behind an unacked one
	max   int64              // highest offset delivered; -1 before any

	commit      int64 // offset to commit: last of the acked prefix
	stale       bool  // replaced after the reader went back
	redelivered bool  // this run re-reads records delivered before
	pending     bool  // in the commit list of the current Ack
	partition   int
}

// delivered records that offset was handed out.
func (p *partAcks) delivered(offset int64) {
	p.queue = append(p.queue, offset)
	p.max = offset
}

// ack marks offset acked and reports whether the commit offset moved.
func (p *partAcks) ack(offset int64) bool {
	if p.head >= len(p.queue) || offset < p.queue[p.head] || offset > p.max {
		return false // committed already, or never delivered in this run
	}
	if offset != p.queue[p.head] {
		if p.acked == nil {
			p.acked = make(map[int64]struct{})
		}
		p.acked[offset] = struct{}{}
		return false
	}
	p.commit = offset
	p.head++
	for p.head < len(p.queue) {
		next := p.queue[p.head]
		if _, ok := p.acked[next]; !ok {
			break
		}
		delete(p.acked, next)
		p.commit = next
		p.head++
	}
	if p.head == len(p.queue) {
		p.queue, p.head = p.queue[:0], 0
	} else if p.head >= 4096 && p.head*2 >= len(p.queue) {
		n := copy(p.queue, p.queue[p.head:])
		p.queue, p.head = p.queue[:n], 0
	}
	return true
}
