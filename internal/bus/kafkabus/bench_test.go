package kafkabus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/kafkabus/kafkatest"
)

const (
	benchRecordBytes = 300
	benchKeys        = 10000
)

// benchMessages makes n 300-byte records over benchKeys sessions.
func benchMessages(n int) []bus.Message {
	keys := make([][]byte, benchKeys)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "session-%08d", i)
	}
	value := make([]byte, benchRecordBytes-len(keys[0]))
	for i := range value {
		value[i] = byte('a' + i%26) // compressible, like JSON capture lines
	}
	out := make([]bus.Message, n)
	for i := range out {
		out[i] = bus.Message{Key: keys[i%benchKeys], Value: value}
	}
	return out
}

func benchConfig(b *testing.B) bus.Config {
	return bus.Config{
		Servers:    []string{kafkatest.Start(b)},
		Topic:      fmt.Sprintf("bench%d-%s-%d", topicSeq.Add(1), b.Name(), b.N),
		Partitions: bus.DefaultPartitions,
	}
}

func BenchmarkPublish(b *testing.B) {
	bb := open(b, benchConfig(b))
	p := publisher(b, bb, bus.PublisherConfig{Compression: "lz4"})
	msgs := benchMessages(min(b.N, 100000))
	ctx := context.Background()
	b.SetBytes(benchRecordBytes)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if err := p.Publish(ctx, msgs[i%len(msgs)], nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

func BenchmarkConsume(b *testing.B) {
	bb := open(b, benchConfig(b))
	p := publisher(b, bb, bus.PublisherConfig{})
	publishAll(b, p, benchMessages(b.N))
	c := consumer(b, bb, bus.ConsumerConfig{Group: "bench"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Wait for the group join outside the timing.
	first, err := c.Fetch(ctx, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchRecordBytes)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	got := len(first)
	for got < b.N {
		ds, err := c.Fetch(ctx, 1000)
		if err != nil {
			b.Fatalf("fetch after %d of %d: %v", got, b.N, err)
		}
		got += len(ds)
		if err := c.Ack(ctx, ds...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}
