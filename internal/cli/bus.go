package cli

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/mcptrail/mcptrail/internal/bus/busurl"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
	"github.com/mcptrail/mcptrail/internal/telemetry"
	"github.com/mcptrail/mcptrail/internal/telemetry/promreg"
)

type busOptions struct {
	listen      string
	dataDir     string
	token       string
	user        string
	password    string
	nkeyUsers   []string
	operator    string
	accounts    []string
	tlsCert     string
	tlsKey      string
	tlsClientCA string
	debug       bool
	metrics     string
}

// Environment variables read when the matching flag is not given, so that
// secrets stay out of the process list.
const (
	envBusToken    = "MCPTRAIL_BUS_TOKEN"
	envBusUser     = "MCPTRAIL_BUS_USER"
	envBusPassword = "MCPTRAIL_BUS_PASSWORD"
)

func newBusCommand() *cobra.Command {
	var o busOptions
	cmd := &cobra.Command{
		Use:   "bus",
		Short: "Run the embedded NATS JetStream bus for single-node deployments",
		Long: `bus runs a NATS server with JetStream inside the mcptrail process: the record
bus between collectors, the processor and the detector, for deployments that
do not run a NATS cluster or Kafka of their own.

Records are kept in a file store under --data-dir, so they survive a restart
of the bus; streams and consumer groups are created by the clients. The
server listens on --listen (port 0 picks a free port) and logs its client URL
once it accepts connections. Clients connect with the same credentials and
TLS settings.

Authentication is a token (--token), or a user and password (--user and
--password), or none. Secrets can come from the environment instead of the
command line: MCPTRAIL_BUS_TOKEN, MCPTRAIL_BUS_USER and MCPTRAIL_BUS_PASSWORD
are read when the flag is not given.

Clients may also log in with an nkey: --nkey-user takes the public key (U…)
of a user, who connects with nkey=SEEDFILE in the bus URL; it goes with
--user and --password, not with --token. Or the bus trusts a NATS operator
(decentralized JWT authentication, as nsc sets it up): --operator names the
operator JWT and --account the JWTs of its accounts, the system account
among them, and clients connect with creds=FILE (a user .creds file). An
account needs JetStream limits in its JWT to use the bus; an account JWT
that changed (a revoked user) takes effect when the bus restarts. An
operator excludes the other kinds of authentication.

TLS is on when --tls-cert and --tls-key name a PEM certificate and key; with
--tls-client-ca, clients must present a certificate signed by that CA
(mutual TLS).

The bus stops cleanly on SIGINT or SIGTERM, writing out its store.

Metrics and health: with --metrics-listen host:port (off by default) it
serves Prometheus metrics on /metrics (mcptrail_bus_*, from the server's own
monitoring: client connections, messages and bytes in and out, slow
consumers, subscriptions, and the JetStream streams, consumers, messages
and bytes stored; and the process's), liveness on /healthz and readiness on
/readyz (ready once the server accepts clients).`,
		Example: `  mcptrail bus
  mcptrail bus --listen 0.0.0.0:4222 --data-dir /var/lib/mcptrail/bus \
    --tls-cert bus.pem --tls-key bus-key.pem
  MCPTRAIL_BUS_TOKEN=s3cret mcptrail bus --listen 127.0.0.1:4222
  mcptrail bus --nkey-user UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4
  mcptrail bus --operator op.jwt --account sys.jwt --account mcptrail.jwt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBus(cmd, &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:4222", "host:port to accept clients on (port 0: a free port)")
	f.StringVar(&o.dataDir, "data-dir", busurl.DefaultDataDir, "directory of the JetStream file store")
	f.StringVar(&o.token, "token", "", "token clients must present (default $"+envBusToken+")")
	f.StringVar(&o.user, "user", "", "user clients must log in as (default $"+envBusUser+")")
	f.StringVar(&o.password, "password", "", "password of --user (default $"+envBusPassword+")")
	f.StringArrayVar(&o.nkeyUsers, "nkey-user", nil, "public nkey (U…) of a user who logs in with its seed; repeatable")
	f.StringVar(&o.operator, "operator", "", "operator JWT file: clients log in with .creds files of its users")
	f.StringArrayVar(&o.accounts, "account", nil, "account JWT file of --operator (the system account too); repeatable")
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM server certificate; enables TLS")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM key of --tls-cert")
	f.StringVar(&o.tlsClientCA, "tls-client-ca", "", "PEM CA that client certificates must be signed by (mutual TLS)")
	f.BoolVar(&o.debug, "debug", false, "log the server's debug messages")
	telemetry.AddFlag(f, &o.metrics)
	return cmd
}

func runBus(cmd *cobra.Command, o *busOptions) error {
	flags := cmd.Flags()
	for _, e := range []struct {
		flag, env string
		v         *string
	}{{"token", envBusToken, &o.token}, {"user", envBusUser, &o.user}, {"password", envBusPassword, &o.password}} {
		if !flags.Changed(e.flag) {
			*e.v = os.Getenv(e.env)
		}
	}
	host, portStr, err := net.SplitHostPort(o.listen)
	if err != nil {
		return withCode(ExitFailure, "--listen %q: %w", o.listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return withCode(ExitFailure, "--listen %q: bad port", o.listen)
	}
	if err := os.MkdirAll(o.dataDir, 0o750); err != nil {
		return withCode(ExitFailure, "--data-dir: %w", err)
	}
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))

	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ready := telemetry.NewReadiness("starting the NATS server")
	reg := promreg.NewRegistry()
	if o.metrics != "" {
		tsrv, err := telemetry.Start(ctx, telemetry.Config{Addr: o.metrics, Metrics: promreg.Handler(reg), Ready: ready.Check, Logger: log})
		if err != nil {
			return withCode(ExitFailure, "bus: %w", err)
		}
		defer tsrv.Close()
	}
	srv, err := natsserver.Start(ctx, natsserver.Config{
		Host:            host,
		Port:            port,
		DataDir:         o.dataDir,
		Token:           o.token,
		User:            o.user,
		Password:        o.password,
		NKeyUsers:       o.nkeyUsers,
		OperatorJWTFile: o.operator,
		AccountJWTFiles: o.accounts,
		TLSCertFile:     o.tlsCert,
		TLSKeyFile:      o.tlsKey,
		TLSClientCAFile: o.tlsClientCA,
		Logger:          log.With("component", "nats"),
	})
	if err != nil {
		return withCode(ExitFailure, "%w", err)
	}
	reg.MustRegister(newBusCollector(srv))
	auth := "none"
	switch {
	case o.operator != "":
		auth = "jwt"
	case o.token != "":
		auth = "token"
	case o.user != "" && len(o.nkeyUsers) > 0:
		auth = "user+nkey"
	case o.user != "":
		auth = "user"
	case len(o.nkeyUsers) > 0:
		auth = "nkey"
	}
	ready.Ready(nil)
	log.Info("bus ready", "url", srv.ClientURL(), "data_dir", o.dataDir, "auth", auth, "tls", o.tlsCert != "")
	<-ctx.Done()
	ready.NotReady("stopping")
	log.Info("bus stopping")
	srv.Shutdown()
	log.Info("bus stopped")
	return nil
}

// busCollector exposes the embedded server's monitoring as mcptrail_bus_*
// metrics, read once per scrape.
type busCollector struct {
	srv     *natsserver.Server
	metrics []busMetric
}

// busMetric is one metric of busCollector.
type busMetric struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(natsserver.Stats) float64
}

func newBusCollector(srv *natsserver.Server) *busCollector {
	c := &busCollector{srv: srv}
	add := func(name, help string, typ prometheus.ValueType, value func(natsserver.Stats) float64) {
		c.metrics = append(c.metrics, busMetric{prometheus.NewDesc(name, help, nil, nil), typ, value})
	}
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	add("mcptrail_bus_connections", "Clients connected to the bus.", gauge,
		func(s natsserver.Stats) float64 { return float64(s.Connections) })
	add("mcptrail_bus_connections_total", "Client connections accepted since the bus started.", counter,
		func(s natsserver.Stats) float64 { return float64(s.TotalConnections) })
	add("mcptrail_bus_in_messages_total", "Messages the bus received (publications, acknowledgements, API requests).", counter,
		func(s natsserver.Stats) float64 { return float64(s.InMsgs) })
	add("mcptrail_bus_in_bytes_total", "Bytes of the messages the bus received.", counter,
		func(s natsserver.Stats) float64 { return float64(s.InBytes) })
	add("mcptrail_bus_out_messages_total", "Messages the bus sent (deliveries, acknowledgements, API replies).", counter,
		func(s natsserver.Stats) float64 { return float64(s.OutMsgs) })
	add("mcptrail_bus_out_bytes_total", "Bytes of the messages the bus sent.", counter,
		func(s natsserver.Stats) float64 { return float64(s.OutBytes) })
	add("mcptrail_bus_slow_consumers_total", "Clients disconnected for not reading fast enough.", counter,
		func(s natsserver.Stats) float64 { return float64(s.SlowConsumers) })
	add("mcptrail_bus_subscriptions", "Active subscriptions.", gauge,
		func(s natsserver.Stats) float64 { return float64(s.Subscriptions) })
	add("mcptrail_bus_jetstream_streams", "JetStream streams (a capture topic has one per partition, and one for its dead letters).", gauge,
		func(s natsserver.Stats) float64 { return float64(s.JetStream.Streams) })
	add("mcptrail_bus_jetstream_consumers", "JetStream consumers (one per consumer group and partition).", gauge,
		func(s natsserver.Stats) float64 { return float64(s.JetStream.Consumers) })
	add("mcptrail_bus_jetstream_messages", "Records the JetStream streams hold.", gauge,
		func(s natsserver.Stats) float64 { return float64(s.JetStream.Messages) })
	add("mcptrail_bus_jetstream_bytes", "Bytes of the records the JetStream streams hold.", gauge,
		func(s natsserver.Stats) float64 { return float64(s.JetStream.Bytes) })
	return c
}

// Describe implements prometheus.Collector.
func (c *busCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		ch <- m.desc
	}
}

// Collect implements prometheus.Collector.
func (c *busCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.srv.Stats()
	if err != nil {
		for _, m := range c.metrics {
			ch <- prometheus.NewInvalidMetric(m.desc, err)
		}
		return
	}
	for _, m := range c.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.typ, m.value(st))
	}
}
