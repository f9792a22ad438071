package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsbus"
)

// busWatch reads the bus's own bookkeeping (JetStream stream and consumer
// state): how many records the collectors published, and how many a
// consumer group has not acknowledged yet. It never consumes a record.
type busWatch struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	streams []string // the capture streams, one per partition
}

// watchBus connects to the NATS server at url.
func watchBus(ctx context.Context, url string) (*busWatch, error) {
	nc, err := nats.Connect(url, nats.Name("mcptrail-demo"))
	if err != nil {
		return nil, fmt.Errorf("bus %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus %s: jetstream: %w", url, err)
	}
	streams, _ := natsbus.StreamNames(bus.DefaultTopic, bus.DefaultPartitions)
	return &busWatch{nc: nc, js: js, streams: streams}, nil
}

func (b *busWatch) close() { b.nc.Close() }

// eachStream calls f with each capture stream that exists.
func (b *busWatch) eachStream(ctx context.Context, f func(name string, s jetstream.Stream) error) error {
	for _, name := range b.streams {
		s, err := b.js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("bus: stream %s: %w", name, err)
		}
		if err := f(name, s); err != nil {
			return err
		}
	}
	return nil
}

// records is how many capture records the bus holds: every record the
// collectors delivered (the demo's bus is new and keeps everything).
func (b *busWatch) records(ctx context.Context) (uint64, error) {
	var n uint64
	err := b.eachStream(ctx, func(name string, s jetstream.Stream) error {
		info, err := s.Info(ctx)
		if err != nil {
			return fmt.Errorf("bus: stream %s: %w", name, err)
		}
		n += info.State.Msgs
		return nil
	})
	return n, err
}

// pending is how many records the consumer group has not acknowledged:
// not yet delivered, or delivered and not yet acknowledged, summed over
// the group's durable consumers (one per partition stream, named GROUP-pN).
// ok is false while the group has no consumers yet.
func (b *busWatch) pending(ctx context.Context, group string) (n uint64, ok bool, err error) {
	err = b.eachStream(ctx, func(name string, s jetstream.Stream) error {
		list := s.ListConsumers(ctx)
		for info := range list.Info() {
			if !strings.HasPrefix(info.Name, group+"-p") {
				continue
			}
			ok = true
			n += info.NumPending + uint64(info.NumAckPending)
		}
		if err := list.Err(); err != nil {
			return fmt.Errorf("bus: consumers of %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return n, ok, nil
}
