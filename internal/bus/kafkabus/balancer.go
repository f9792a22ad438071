package kafkabus

import (
	"github.com/segmentio/kafka-go"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// Balancer is a kafka.Balancer that puts a message on the partition
// bus.Partition picks for its key (xxhash64 of the key mod the partition
// count), the rule every mcptrail bus uses. The publisher applies the same
// rule; Balancer is for other kafka-go writers of the capture topic.
type Balancer struct{}

var _ kafka.Balancer = Balancer{}

// Balance returns the partition of msg.Key among partitions.
func (Balancer) Balance(msg kafka.Message, partitions ...int) int {
	if len(partitions) == 0 {
		return 0
	}
	return partitions[bus.Partition(msg.Key, len(partitions))]
}
