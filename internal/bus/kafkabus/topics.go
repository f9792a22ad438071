package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// topicMetaTimeout bounds the metadata and create-topic calls of Open.
const topicMetaTimeout = 15 * time.Second

// recordOverhead is room for the record batch framing on top of the
// records, for the topics' max.message.bytes.
const recordOverhead = 64 << 10

// ensureTopics creates the capture topic and its dead-letter topic when
// they are missing and returns the capture topic's partition count.
func (b *Bus) ensureTopics(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, topicMetaTimeout)
	defer cancel()
	topic, dlq := b.cfg.Topic, bus.DeadLetterTopic(b.cfg.Topic)
	parts, err := b.topicPartitions(ctx, topic, dlq)
	if err != nil {
		return 0, err
	}
	var create []kafka.TopicConfig
	if parts[topic] == 0 {
		create = append(create, b.topicConfig(topic, b.cfg.Partitions))
	}
	if parts[dlq] == 0 {
		create = append(create, b.topicConfig(dlq, 1))
	}
	if len(create) > 0 {
		res, err := b.client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: create})
		if err != nil {
			return 0, fmt.Errorf("kafkabus: create topics on %s: %w", b.brokers(), err)
		}
		for _, tc := range create {
			if err := res.Errors[tc.Topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
				return 0, fmt.Errorf("kafkabus: create topic %s: %w", tc.Topic, err)
			}
		}
		// Wait until the brokers report the new topics with leaders.
		for {
			parts, err = b.topicPartitions(ctx, topic, dlq)
			if err != nil {
				return 0, err
			}
			if parts[topic] > 0 && parts[dlq] > 0 {
				break
			}
			select {
			case <-ctx.Done():
				return 0, fmt.Errorf("kafkabus: wait for topic %s: %w", topic, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	if n := parts[topic]; n != b.cfg.Partitions {
		b.logger().Warn("kafkabus: topic exists with another partition count; using it",
			"topic", topic, "partitions", n, "configured", b.cfg.Partitions)
	}
	return parts[topic], nil
}

func (b *Bus) topicConfig(name string, partitions int) kafka.TopicConfig {
	tc := kafka.TopicConfig{
		Topic:             name,
		NumPartitions:     partitions,
		ReplicationFactor: -1, // the broker's default.replication.factor
	}
	if max := b.cfg.MaxRecordBytes + recordOverhead; max > 1<<20 {
		tc.ConfigEntries = []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(max)}}
	}
	return tc
}

// topicPartitions returns the partition counts of the topics that exist
// and have a leader for every partition; missing topics count 0.
func (b *Bus) topicPartitions(ctx context.Context, topics ...string) (map[string]int, error) {
	md, err := b.client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, connectError(b.brokers(), err)
	}
	out := make(map[string]int, len(topics))
	for _, t := range md.Topics {
		if t.Error != nil {
			if errors.Is(t.Error, kafka.UnknownTopicOrPartition) || errors.Is(t.Error, kafka.LeaderNotAvailable) {
				continue
			}
			return nil, fmt.Errorf("kafkabus: metadata of topic %s: %w", t.Name, t.Error)
		}
		ok := len(t.Partitions) > 0
		for _, p := range t.Partitions {
			if p.Leader.Host == "" {
				ok = false
			}
		}
		if ok {
			out[t.Name] = len(t.Partitions)
		}
	}
	return out, nil
}
