package busurl

import (
	"context"
	"errors"
	"fmt"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/kafkabus"
	"github.com/mcptrail/mcptrail/internal/bus/natsbus"
)

// EmbeddedStarter starts an in-process NATS JetStream server that keeps its
// file store under dataDir and accepts clients on listen (host:port). It
// returns the address clients dial and a function that stops the server.
// Binaries that link the server (mcptrail) provide one; the collector does
// not, so it cannot start an embedded bus.
type EmbeddedStarter func(ctx context.Context, dataDir, listen string) (addr string, stop func(), err error)

// DefaultDataDir is the embedded bus's data dir when neither the URL nor
// the base configuration names one.
const DefaultDataDir = "mcptrail-data/bus"

// Open opens the bus raw names. base supplies what the URL does not set
// (logger, data dir, defaults); the URL's settings win. embedded starts the
// server for an "embedded" URL and may be nil where no server is linked.
func Open(ctx context.Context, raw string, base bus.Config, embedded EmbeddedStarter) (bus.Bus, error) {
	spec, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	cfg := merge(base, spec.Config)
	switch spec.Kind {
	case NATS:
		return natsbus.Open(ctx, cfg)
	case Kafka:
		return kafkabus.Open(ctx, cfg)
	}
	if embedded == nil {
		return nil, errors.New("an embedded bus is not available in this binary: run `mcptrail bus` and use nats://HOST:PORT")
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	addr, stop, err := embedded(ctx, cfg.DataDir, spec.Listen)
	if err != nil {
		return nil, fmt.Errorf("start the embedded bus: %w", err)
	}
	cfg.Servers = []string{addr}
	b, err := natsbus.Open(ctx, cfg)
	if err != nil {
		stop()
		return nil, err
	}
	return &embeddedBus{Bus: b, stop: stop}, nil
}

// merge lays the URL's settings over base.
func merge(base, u bus.Config) bus.Config {
	out := base
	if len(u.Servers) > 0 {
		out.Servers = u.Servers
	}
	if u.Topic != "" {
		out.Topic = u.Topic
	}
	if u.Partitions > 0 {
		out.Partitions = u.Partitions
	}
	if u.MaxRecordBytes > 0 {
		out.MaxRecordBytes = u.MaxRecordBytes
	}
	if u.TLS != nil {
		out.TLS = u.TLS
	}
	if u.Auth != (bus.Auth{}) {
		out.Auth = u.Auth
	}
	if u.DataDir != "" {
		out.DataDir = u.DataDir
	}
	return out
}

// embeddedBus is a bus whose Close also stops the server it started.
type embeddedBus struct {
	bus.Bus
	stop func()
}

func (b *embeddedBus) Close() error {
	err := b.Bus.Close()
	b.stop()
	return err
}
