// Package kafkabus implements bus.Bus on Apache Kafka with
// github.com/segmentio/kafka-go.
//
// Publishers batch records per partition themselves and send them with the
// low-level kafka.Client Produce API (one request in flight per partition,
// so a session's records stay in order). Consumers are members of a Kafka
// consumer group (kafka.Reader with a GroupID) that commit, synchronously
// in Ack, only the highest contiguous acknowledged offset of each partition.
//
// Group timing defaults (not configurable through bus.ConsumerConfig):
// heartbeat every 1 s, session timeout 10 s, rebalance timeout 10 s, and a
// 500 ms back-off after a failed join. They suit production (the session
// timeout is the one Kafka's Java client used until 3.0) and keep
// rebalances in tests short.
package kafkabus

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"

	"github.com/mcptrail/mcptrail/internal/bus"
)

const (
	clientID    = "mcptrail"
	dialTimeout = 5 * time.Second
)

// Bus is a connection to a Kafka cluster. It implements bus.Bus.
type Bus struct {
	cfg       bus.Config
	tls       *tls.Config
	mech      sasl.Mechanism
	transport *kafka.Transport
	client    *kafka.Client
	// partitions is the capture topic's partition count, as the brokers
	// reported it when the Bus was opened.
	partitions int

	mu     sync.Mutex
	closed bool
}

var _ bus.Bus = (*Bus)(nil)

// Open connects to the brokers in cfg.Servers and creates the capture topic
// (cfg.Partitions partitions) and its dead-letter topic (one partition)
// when they do not exist yet. Unreachable brokers give an error wrapping
// bus.ErrUnavailable that names them; rejected SASL credentials and failed
// TLS handshakes give an error that says so and does not wrap it.
func Open(ctx context.Context, cfg bus.Config) (bus.Bus, error) {
	cfg = cfg.WithDefaults()
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("kafkabus: no brokers configured")
	}
	tlsCfg, err := cfg.TLS.Load()
	if err != nil {
		return nil, fmt.Errorf("kafkabus: %w", err)
	}
	mech, err := saslMechanism(cfg.Auth)
	if err != nil {
		return nil, err
	}
	tr := &kafka.Transport{
		DialTimeout: dialTimeout,
		IdleTimeout: 5 * time.Minute,
		MetadataTTL: 10 * time.Second,
		ClientID:    clientID,
		TLS:         tlsCfg,
		SASL:        mech,
	}
	b := &Bus{
		cfg:       cfg,
		tls:       tlsCfg,
		mech:      mech,
		transport: tr,
		client: &kafka.Client{
			Addr:      kafka.TCP(cfg.Servers...),
			Transport: tr,
			Timeout:   30 * time.Second,
		},
	}
	n, err := b.ensureTopics(ctx)
	if err != nil {
		tr.CloseIdleConnections()
		return nil, err
	}
	b.partitions = n
	return b, nil
}

// Publisher returns a publisher for the capture topic.
func (b *Bus) Publisher(ctx context.Context, cfg bus.PublisherConfig) (bus.Publisher, error) {
	if b.isClosed() {
		return nil, fmt.Errorf("kafkabus: publisher: %w", bus.ErrClosed)
	}
	return newPublisher(b, cfg.WithDefaults())
}

// Consumer joins the consumer group cfg.Group on the capture topic, or the
// group cfg.Group+"-dlq" on the dead-letter topic when cfg.DeadLetters is
// set (a separate group, so the two never rebalance each other).
func (b *Bus) Consumer(ctx context.Context, cfg bus.ConsumerConfig) (bus.Consumer, error) {
	if b.isClosed() {
		return nil, fmt.Errorf("kafkabus: consumer: %w", bus.ErrClosed)
	}
	return newConsumer(b, cfg.WithDefaults())
}

// Close releases the idle broker connections. Publishers and consumers
// made by the Bus must be closed by their owners.
func (b *Bus) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.transport.CloseIdleConnections()
	return nil
}

func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func (b *Bus) logger() *slog.Logger { return b.cfg.Logger }

func (b *Bus) brokers() string { return strings.Join(b.cfg.Servers, ",") }

// dialer is the kafka.Dialer consumer-group readers use.
func (b *Bus) dialer() *kafka.Dialer {
	return &kafka.Dialer{
		ClientID:      clientID,
		Timeout:       dialTimeout,
		DualStack:     true,
		TLS:           b.tls,
		SASLMechanism: b.mech,
	}
}
