package kafkabus

import (
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestReadAheadOrderAndBoundedMemory(t *testing.T) {
	tests := []struct {
		name      string
		limit     int
		takeEvery int // records pushed between takes
		takeCount int // records taken each time
		totalPush int
	}{
		// The reader keeps up with Fetch, so the queue never drains: the
		// case in which the old buffer grew for as long as records came.
		{name: "never drained", limit: 100, takeEvery: 10, takeCount: 9, totalPush: 100000},
		{name: "drained each time", limit: 100, takeEvery: 50, takeCount: 50, totalPush: 10000},
		{name: "taken one by one", limit: 8, takeEvery: 1, takeCount: 1, totalPush: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := readAhead{limit: tt.limit}
			var next, want int64
			takeN := func(n int) {
				t.Helper()
				q.take(n, func(_ int, m *kafka.Message) {
					if m.Offset != want {
						t.Fatalf("took offset %d, want %d", m.Offset, want)
					}
					want++
				})
			}
			for next < int64(tt.totalPush) {
				for range tt.takeEvery {
					if q.full() {
						break
					}
					q.push(kafka.Message{Offset: next, Value: []byte("v")})
					next++
				}
				takeN(min(tt.takeCount, q.len()))
				// 2×limit, and append may round up to twice that.
				if c, most := cap(q.buf), 4*tt.limit; c > most {
					t.Fatalf("after %d pushes the buffer holds %d records' room, want at most %d", next, c, most)
				}
			}
			takeN(q.len())
			if want != next {
				t.Fatalf("took %d records, pushed %d", want, next)
			}
			for i, m := range q.buf[:q.head] {
				if m.Value != nil {
					t.Fatalf("taken record %d still holds its value", i)
				}
			}
		})
	}
}
