package kafkabus

import "github.com/segmentio/kafka-go"

// readAhead is the FIFO of records read from the broker but not yet
// fetched. Its memory stays within twice its limit however Fetch and the
// reader interleave: taken records are cleared and the rest moved to the
// front once limit of them have been taken.
type readAhead struct {
	limit int
	buf   []kafka.Message
	head  int // buf[head:] are the records not taken yet
}

// len reports the records waiting.
func (q *readAhead) len() int { return len(q.buf) - q.head }

// full reports whether the queue holds limit records.
func (q *readAhead) full() bool { return q.len() >= q.limit }

// push appends m.
func (q *readAhead) push(m kafka.Message) {
	if q.head >= q.limit || (q.head > 0 && q.head == len(q.buf)) {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, m)
}

// take calls f on each of the next n records (n ≤ len) and drops them.
func (q *readAhead) take(n int, f func(i int, m *kafka.Message)) {
	for i := range n {
		m := &q.buf[q.head+i]
		f(i, m)
		*m = kafka.Message{}
	}
	q.head += n
}
