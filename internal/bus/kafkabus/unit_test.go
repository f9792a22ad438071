package kafkabus

import (
	"fmt"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/mcptrail/mcptrail/internal/bus"
)

func TestBalancerMatchesPartition(t *testing.T) {
	parts := []int{0, 1, 2, 3, 4, 5, 6, 7}
	for i := range 100 {
		key := fmt.Appendf(nil, "session-%d", i)
		if got, want := (Balancer{}).Balance(kafka.Message{Key: key}, parts...), bus.Partition(key, len(parts)); got != want {
			t.Fatalf("key %s: Balance = %d, bus.Partition = %d", key, got, want)
		}
	}
}

func TestPartAcks(t *testing.T) {
	for _, tc := range []struct {
		name      string
		delivered []int64
		acks      []int64
		commit    int64 // -1: nothing to commit
	}{
		{"in order", []int64{0, 1, 2}, []int64{0, 1, 2}, 2},
		{"gap holds back", []int64{0, 1, 2, 3, 4}, []int64{0, 1, 3}, 1},
		{"gap filled", []int64{0, 1, 2, 3, 4}, []int64{0, 1, 3, 4, 2}, 4},
		{"first missing", []int64{5, 6, 7}, []int64{6, 7}, -1},
		{"reverse", []int64{5, 6, 7}, []int64{7, 6, 5}, 7},
		{"offset gaps", []int64{10, 12, 15}, []int64{12, 10}, 12},
		{"duplicate ack", []int64{0, 1}, []int64{0, 0, 1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &partAcks{max: -1, commit: -1}
			for _, o := range tc.delivered {
				p.delivered(o)
			}
			for _, o := range tc.acks {
				p.ack(o)
			}
			if p.commit != tc.commit {
				t.Fatalf("commit = %d, want %d", p.commit, tc.commit)
			}
		})
	}
}
