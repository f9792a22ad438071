package bus

import (
	"log/slog"
	"time"
)

// Defaults.
const (
	DefaultTopic          = "mcptrail-capture"
	DefaultPartitions     = 8
	DefaultMaxRecordBytes = 1 << 20
	DefaultMaxPending     = 16384
	DefaultBatchSize      = 1000
	DefaultLinger         = 5 * time.Millisecond
	DefaultAckWait        = 30 * time.Second
)

// Config is what every implementation needs to reach the bus.
type Config struct {
	// Servers are host:port addresses (NATS servers or Kafka brokers).
	Servers []string
	// Topic is the Kafka topic or JetStream stream of capture records; its
	// dead-letter topic is Topic + "-dlq".
	Topic string
	// Partitions is how many partitions the topic is created with (Kafka
	// topic partitions, JetStream subjects Topic.capture.0 … N-1).
	Partitions int
	// MaxRecordBytes is the largest record accepted.
	MaxRecordBytes int
	// TLS configures TLS; nil means plain TCP.
	TLS *TLSConfig
	// Auth holds credentials; the zero value means none.
	Auth Auth
	// DataDir is where the embedded NATS server keeps its file store.
	DataDir string
	// Logger receives operational messages; nil means slog.Default.
	Logger *slog.Logger
}

// TLSConfig names the PEM files for TLS.
type TLSConfig struct {
	CAFile   string // CA bundle to verify the server; empty: system roots
	CertFile string // client certificate, for mutual TLS
	KeyFile  string // client key, for mutual TLS
	// ServerName overrides the name verified in the server certificate.
	ServerName string
	// InsecureSkipVerify disables verification (tests only).
	InsecureSkipVerify bool
}

// Auth holds credentials for the bus. Which fields apply depends on the
// implementation: NATS takes Token, User/Password, NKeySeedFile or
// CredsFile; Kafka takes SASL with User/Password.
type Auth struct {
	Token        string
	User         string
	Password     string
	NKeySeedFile string
	CredsFile    string
	// SASL is the Kafka SASL mechanism: "plain", "scram-sha-256" or
	// "scram-sha-512"; empty means none.
	SASL string
}

// PublisherConfig tunes a publisher.
type PublisherConfig struct {
	// MaxPending bounds the records queued or in flight; Publish blocks
	// beyond it.
	MaxPending int
	// BatchSize and Linger bound a batch: it is sent when full or when its
	// first record has waited Linger.
	BatchSize int
	Linger    time.Duration
	// Compression is the Kafka batch compression: "lz4" (default), "zstd",
	// "snappy", "gzip" or "none". NATS ignores it.
	Compression string
}

// ConsumerConfig tunes a consumer.
type ConsumerConfig struct {
	// Group names the consumer group (a Kafka group id; the prefix of the
	// JetStream durable consumers). Members with the same Group share the
	// partitions.
	Group string
	// DeadLetters consumes the dead-letter topic instead of the capture
	// topic.
	DeadLetters bool
	// AckWait is how long a delivered record may stay unacknowledged before
	// JetStream delivers it again. Kafka redelivers from the last commit
	// when a member leaves instead.
	AckWait time.Duration
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.Partitions <= 0 {
		c.Partitions = DefaultPartitions
	}
	if c.MaxRecordBytes <= 0 {
		c.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// WithDefaults returns c with zero fields set to their defaults.
func (c PublisherConfig) WithDefaults() PublisherConfig {
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Linger <= 0 {
		c.Linger = DefaultLinger
	}
	if c.Compression == "" {
		c.Compression = "lz4"
	}
	return c
}

// WithDefaults returns c with zero fields set to their defaults.
func (c ConsumerConfig) WithDefaults() ConsumerConfig {
	if c.Group == "" {
		c.Group = "mcptrail"
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	return c
}

// DeadLetterTopic is the dead-letter topic of topic.
func DeadLetterTopic(topic string) string { return topic + "-dlq" }
