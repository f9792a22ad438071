// Package natsbus implements bus.Bus on NATS JetStream.
//
// The capture topic is a file-backed stream named after the topic with one
// subject per partition (<topic>.capture.<p>); dead letters go to a second
// stream, <topic>-dlq, on subject <topic>.dlq. A record's key travels in the
// Mcptrail-Key header and its headers as NATS headers; the value is the
// payload.
//
// A consumer group is one durable pull consumer per partition, named
// <group>-p<N>, in a JetStream priority group with the pinned-client
// policy: the server pins each partition to one member of the group at a
// time and moves it to another member when the pinned one stops pulling.
//
// The natsserver package runs a NATS server with JetStream inside the
// process, for single-node deployments and tests.
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// Connection tuning.
const (
	reconnectWait   = 250 * time.Millisecond
	reconnectJitter = 100 * time.Millisecond
	connectTimeout  = 5 * time.Second
	// apiTimeout bounds JetStream API requests made without a deadline.
	apiTimeout = 10 * time.Second
)

// natsBus is a connection to NATS with the capture and dead-letter streams
// in place.
type natsBus struct {
	cfg    bus.Config
	nc     *nats.Conn
	js     jetstream.JetStream
	layout layout
	log    *slog.Logger
}

var _ bus.Bus = (*natsBus)(nil)

// Open connects to the NATS servers of cfg and creates the capture and
// dead-letter streams when they are absent. The connection reconnects
// forever once established; the first connection attempt fails with an
// error naming the servers.
func Open(ctx context.Context, cfg bus.Config) (bus.Bus, error) {
	cfg = cfg.WithDefaults()
	if len(cfg.Servers) == 0 {
		return nil, errors.New("natsbus: no servers")
	}
	nc, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(apiTimeout))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsbus: jetstream: %w", err)
	}
	b := &natsBus{cfg: cfg, nc: nc, js: js, layout: newLayout(cfg.Topic, cfg.Partitions), log: cfg.Logger}
	if err := b.ensureStreams(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return b, nil
}

// connect dials the servers of cfg with its TLS and credentials.
func connect(ctx context.Context, cfg bus.Config) (*nats.Conn, error) {
	servers := strings.Join(cfg.Servers, ", ")
	urls := make([]string, len(cfg.Servers))
	scheme := "nats://"
	if cfg.TLS != nil {
		scheme = "tls://"
	}
	for i, s := range cfg.Servers {
		if strings.Contains(s, "://") {
			urls[i] = s
		} else {
			urls[i] = scheme + s
		}
	}
	log := cfg.Logger
	opts := []nats.Option{
		nats.Name("mcptrail"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(reconnectWait),
		nats.ReconnectJitter(reconnectJitter, reconnectJitter),
		nats.Timeout(connectTimeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("natsbus: disconnected", "servers", servers, "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("natsbus: reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("natsbus: asynchronous error", "err", err)
		}),
	}
	tlsCfg, err := cfg.TLS.Load()
	if err != nil {
		return nil, fmt.Errorf("natsbus: %w", err)
	}
	if tlsCfg != nil {
		opts = append(opts, nats.Secure(tlsCfg))
	}
	a := cfg.Auth
	login := "no credentials" // names the login in errors, never a secret
	switch {
	case a.CredsFile != "":
		opts = append(opts, nats.UserCredentials(a.CredsFile))
		login = "creds file " + a.CredsFile
	case a.NKeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(a.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("natsbus: nkey seed file %s: %w", a.NKeySeedFile, err)
		}
		opts = append(opts, o)
		login = "nkey seed file " + a.NKeySeedFile
	case a.User != "":
		opts = append(opts, nats.UserInfo(a.User, a.Password))
		login = "user " + a.User
	case a.Token != "":
		opts = append(opts, nats.Token(a.Token))
		login = "a token"
	}

	type result struct {
		nc  *nats.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(strings.Join(urls, ","), opts...)
		ch <- result{nc, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("natsbus: connect to %s with %s: %w", servers, login, r.err)
		}
		return r.nc, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, fmt.Errorf("natsbus: connect to %s: %w", servers, ctx.Err())
	}
}

// ensureStreams creates or updates the capture streams (one per
// partition) and the dead-letter stream.
func (b *natsBus) ensureStreams(ctx context.Context) error {
	l := b.layout
	if s, err := b.js.Stream(ctx, l.oneStream); err == nil && slices.Contains(s.CachedInfo().Config.Subjects, l.subjects[0]) {
		return fmt.Errorf("natsbus: stream %s holds the capture subjects of every partition, the layout of earlier mcptrail builds; "+
			"process what it holds with the build that wrote it, then delete it (nats stream rm %s) or start the bus on a new data directory", l.oneStream, l.oneStream)
	}
	streams := make([]jetstream.StreamConfig, 0, len(l.streams)+1)
	for p, name := range l.streams {
		streams = append(streams, jetstream.StreamConfig{
			Name:        name,
			Description: "mcptrail capture records of partition " + strconv.Itoa(p),
			Subjects:    []string{l.subjects[p]},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
		})
	}
	streams = append(streams, jetstream.StreamConfig{
		Name:        l.dlqStream,
		Description: "mcptrail dead-lettered capture records",
		Subjects:    []string{l.dlqSubject},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
	})
	for _, sc := range streams {
		if _, err := b.js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("natsbus: create stream %s: %w", sc.Name, err)
		}
	}
	return nil
}

// Publisher returns an asynchronous publisher on the capture stream.
func (b *natsBus) Publisher(_ context.Context, cfg bus.PublisherConfig) (bus.Publisher, error) {
	return newPublisher(b, cfg.WithDefaults())
}

// Consumer joins the consumer group cfg.Group.
func (b *natsBus) Consumer(ctx context.Context, cfg bus.ConsumerConfig) (bus.Consumer, error) {
	return newConsumer(ctx, b, cfg.WithDefaults())
}

// Close drains nothing and closes the connection.
func (b *natsBus) Close() error {
	b.nc.Close()
	return nil
}

// unavailable returns bus.ErrUnavailable with the connection state when
// the connection is not up, and nil when it is.
func (b *natsBus) unavailable() error {
	switch st := b.nc.Status(); st {
	case nats.CONNECTED:
		return nil
	case nats.CLOSED:
		return fmt.Errorf("natsbus: connection closed: %w", bus.ErrClosed)
	default:
		return fmt.Errorf("natsbus: %s to %s: %w", st, strings.Join(b.cfg.Servers, ", "), bus.ErrUnavailable)
	}
}
