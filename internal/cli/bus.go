package cli

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mcptrail/mcptrail/internal/bus/busurl"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
)

type busOptions struct {
	listen      string
	dataDir     string
	token       string
	user        string
	password    string
	tlsCert     string
	tlsKey      string
	tlsClientCA string
	debug       bool
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

TLS is on when --tls-cert and --tls-key name a PEM certificate and key; with
--tls-client-ca, clients must present a certificate signed by that CA
(mutual TLS).

The bus stops cleanly on SIGINT or SIGTERM, writing out its store.`,
		Example: `  mcptrail bus
  mcptrail bus --listen 0.0.0.0:4222 --data-dir /var/lib/mcptrail/bus \
    --tls-cert bus.pem --tls-key bus-key.pem
  MCPTRAIL_BUS_TOKEN=s3cret mcptrail bus --listen 127.0.0.1:4222`,
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
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM server certificate; enables TLS")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM key of --tls-cert")
	f.StringVar(&o.tlsClientCA, "tls-client-ca", "", "PEM CA that client certificates must be signed by (mutual TLS)")
	f.BoolVar(&o.debug, "debug", false, "log the server's debug messages")
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
	srv, err := natsserver.Start(ctx, natsserver.Config{
		Host:            host,
		Port:            port,
		DataDir:         o.dataDir,
		Token:           o.token,
		User:            o.user,
		Password:        o.password,
		TLSCertFile:     o.tlsCert,
		TLSKeyFile:      o.tlsKey,
		TLSClientCAFile: o.tlsClientCA,
		Logger:          log.With("component", "nats"),
	})
	if err != nil {
		return withCode(ExitFailure, "%w", err)
	}
	auth := "none"
	switch {
	case o.token != "":
		auth = "token"
	case o.user != "":
		auth = "user"
	}
	log.Info("bus ready", "url", srv.ClientURL(), "data_dir", o.dataDir, "auth", auth, "tls", o.tlsCert != "")
	<-ctx.Done()
	log.Info("bus stopping")
	srv.Shutdown()
	log.Info("bus stopped")
	return nil
}
