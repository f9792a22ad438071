// Package bus is the delivery contract between collectors, the processor
// and the detector: records keyed by MCP session, published asynchronously
// with a per-record acknowledgement, consumed in batches by a consumer
// group, acknowledged only after the consumer says they are durable, and
// dead-lettered with a reason when they cannot be decoded.
//
// Delivery is at least once. The xxhash64 of a record's key (the MCP
// session) picks its partition, so one session's records stay in order and
// reach one member of a consumer group. Implementations live in natsbus
// (NATS JetStream, also embedded in process) and kafkabus (Kafka); busurl
// opens one from a URL.
package bus

import (
	"context"
	"errors"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Message is one record on the bus.
type Message struct {
	// Key is the MCP session; its xxhash64 picks the partition.
	Key []byte
	// Value is the record, a capture line.
	Value []byte
	// Headers carry metadata such as the dead-letter reason.
	Headers map[string]string
	// ID, when set, identifies the record for deduplication: a bus that
	// can (JetStream, within its duplicate window) stores a record whose
	// ID it stored recently only once. Kafka ignores it; the processor's
	// stable event ids deduplicate there.
	ID string
}

// Delivery is a message as a consumer received it, with its place on the
// bus. It is acknowledged through the Consumer that returned it.
type Delivery struct {
	Message
	// Partition is the partition the record is on.
	Partition int
	// Position is the record's place in its partition: the Kafka offset,
	// or the JetStream stream sequence. (Partition, Position) identifies a
	// record across redeliveries.
	Position uint64
	// Redelivered is true when the bus delivered this record before and
	// did not get an acknowledgement for it (as far as the bus can tell).
	Redelivered bool
	// Stored is when the bus stored the record: the JetStream message
	// timestamp, or the Kafka record timestamp (the time the producer sent
	// it). Zero when the bus did not say.
	Stored time.Time
	// Pending is the backlog behind the record when the bus delivered it:
	// how many records of its partition were stored after it (JetStream's
	// pending count; Kafka's high-water mark minus the offset, minus one).
	// For a redelivered record JetStream counts only those not delivered
	// yet.
	Pending uint64

	// Ack is the implementation's handle for acknowledging the delivery.
	Ack any
}

// Headers set on dead-lettered records.
const (
	HeaderDeadLetterReason    = "mcptrail-dead-letter-reason"
	HeaderDeadLetterPartition = "mcptrail-dead-letter-partition"
	HeaderDeadLetterPosition  = "mcptrail-dead-letter-position"
)

// Errors every implementation returns (wrapped, so test with errors.Is).
var (
	// ErrTooLarge: the record exceeds the bus's maximum record size. It was
	// not queued.
	ErrTooLarge = errors.New("record too large for the bus")
	// ErrUnavailable: the bus cannot be reached. Publish returns it at once
	// instead of queueing without bound.
	ErrUnavailable = errors.New("bus unavailable")
	// ErrClosed: the publisher or consumer was closed.
	ErrClosed = errors.New("bus client closed")
)

// Publisher sends records asynchronously, in batches.
type Publisher interface {
	// Publish queues m and returns without waiting for the bus. done, if
	// not nil, is called exactly once, from another goroutine, with nil
	// once the bus has stored the record, or with the reason it has not.
	// Publish blocks while the publisher's bound on pending records is
	// reached, until ctx ends. It returns an error, and does not call done,
	// when the record is too large (ErrTooLarge), the bus is unreachable
	// (ErrUnavailable), the publisher is closed (ErrClosed) or ctx ended.
	Publish(ctx context.Context, m Message, done func(error)) error
	// Flush waits until every record queued so far is acknowledged or
	// failed, and returns the first failure since the last Flush.
	Flush(ctx context.Context) error
	// Close flushes with ctx and releases the publisher.
	Close(ctx context.Context) error
}

// Consumer reads records as one member of a consumer group.
type Consumer interface {
	// Fetch waits until at least one record is there (or ctx ends) and
	// returns up to max records. Records of one partition come in order.
	Fetch(ctx context.Context, max int) ([]*Delivery, error)
	// Ack tells the bus the records are durably processed, so it will not
	// deliver them again. Records that are never acknowledged are
	// delivered again, to this or another member of the group.
	Ack(ctx context.Context, ds ...*Delivery) error
	// DeadLetter publishes the record to the dead-letter topic with reason
	// and its original partition and position in headers, then
	// acknowledges it, so a record that cannot be decoded never blocks its
	// partition.
	DeadLetter(ctx context.Context, d *Delivery, reason string) error
	// Close leaves the group. Unacknowledged records go to other members.
	Close() error
}

// Bus is a connection to one bus: it makes publishers and consumers.
type Bus interface {
	// Publisher returns a publisher for the capture topic.
	Publisher(ctx context.Context, cfg PublisherConfig) (Publisher, error)
	// Consumer joins the consumer group cfg.Group on the capture topic, or
	// on its dead-letter topic when cfg.DeadLetters is set.
	Consumer(ctx context.Context, cfg ConsumerConfig) (Consumer, error)
	// Close releases the connection (and stops an embedded server).
	Close() error
}

// Partition returns the partition of key among n: xxhash64(key) mod n.
func Partition(key []byte, n int) int {
	if n <= 1 {
		return 0
	}
	return int(xxhash.Sum64(key) % uint64(n))
}
