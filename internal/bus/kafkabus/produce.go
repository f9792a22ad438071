package kafkabus

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/segmentio/kafka-go"
)

// produceTimeout bounds one produce request.
const produceTimeout = 10 * time.Second

// record is a record waiting to be produced.
type record struct {
	key, value []byte
	headers    []kafka.Header
	done       func(error)
}

// size is what the record counts against bus.Config.MaxRecordBytes.
func (r *record) size() int {
	n := len(r.key) + len(r.value)
	for _, h := range r.headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// produce sends recs to one partition of topic as one record batch and
// waits for all in-sync replicas to store it.
func (b *Bus) produce(ctx context.Context, topic string, partition int, codec kafka.Compression, recs []record) error {
	ctx, cancel := context.WithTimeout(ctx, produceTimeout)
	defer cancel()
	res, err := b.client.Produce(ctx, &kafka.ProduceRequest{
		Topic:        topic,
		Partition:    partition,
		RequiredAcks: kafka.RequireAll,
		Compression:  codec,
		Records:      &recordReader{recs: recs, now: time.Now()},
	})
	if err != nil {
		return err
	}
	if res.Error != nil {
		return res.Error
	}
	for _, e := range res.RecordErrors {
		return e
	}
	return nil
}

// produceRetry is produce, tried again on retriable errors until ctx ends.
func (b *Bus) produceRetry(ctx context.Context, topic string, partition int, codec kafka.Compression, recs []record) error {
	backoff := 50 * time.Millisecond
	for {
		err := b.produce(ctx, topic, partition, codec, recs)
		if err == nil {
			return nil
		}
		if !isRetriable(err) || ctx.Err() != nil {
			return fmt.Errorf("kafkabus: produce to %s/%d: %w", topic, partition, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafkabus: produce to %s/%d: %w (last error: %w)", topic, partition, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// recordReader is a kafka.RecordReader over records that reuses one
// kafka.Record and its key and value readers, so a batch costs no
// allocation per record.
type recordReader struct {
	recs       []record
	now        time.Time
	i          int
	rec        kafka.Record
	key, value bytesReader
}

func (r *recordReader) ReadRecord() (*kafka.Record, error) {
	if r.i >= len(r.recs) {
		return nil, io.EOF
	}
	m := &r.recs[r.i]
	r.i++
	r.rec = kafka.Record{Time: r.now, Headers: m.headers}
	if m.key != nil {
		r.key.Reset(m.key)
		r.rec.Key = &r.key
	}
	if m.value != nil {
		r.value.Reset(m.value)
		r.rec.Value = &r.value
	}
	return &r.rec, nil
}

// bytesReader is a bytes.Reader with the Close kafka.Bytes needs.
type bytesReader struct{ bytes.Reader }

func (*bytesReader) Close() error { return nil }
