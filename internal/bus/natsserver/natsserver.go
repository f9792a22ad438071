// Package natsserver runs a NATS server with JetStream inside the process:
// the embedded bus for single-node deployments, the demo and tests. It is
// kept apart from natsbus so that binaries that only talk to a bus (the
// collector) do not link the server.
package natsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server server defaults.
const (
	// DefaultMaxPayload is the largest message the embedded server
	// accepts: room for a bus.DefaultMaxRecordBytes record and its headers.
	DefaultMaxPayload = 8 << 20
	readyTimeout      = 30 * time.Second
)

// Config configures a NATS server with JetStream run in process.
type Config struct {
	// Host is the address to listen on; empty means 127.0.0.1.
	Host string
	// Port is the client port; 0 picks a free port.
	Port int
	// DataDir holds the JetStream file store. Required.
	DataDir string
	// Token, or User and Password, require clients to authenticate.
	Token    string
	User     string
	Password string
	// NKeyUsers are the public nkeys (U…) of users who log in by signing
	// the server's challenge with their seed (bus URL nkey=SEEDFILE). They
	// go with User and Password, not with Token.
	NKeyUsers []string
	// OperatorJWTFile turns on decentralized JWT authentication: the
	// server trusts this operator, and clients log in with the .creds file
	// of a user of one of its accounts (bus URL creds=FILE). It excludes
	// every other kind of authentication.
	OperatorJWTFile string
	// AccountJWTFiles are the operator's account JWTs, the system account
	// among them, served from memory. An account needs JetStream limits in
	// its JWT to use the bus; a changed JWT (a revoked user) takes effect
	// on the next start.
	AccountJWTFiles []string
	// TLSCertFile and TLSKeyFile enable TLS; TLSClientCAFile also requires
	// client certificates signed by that CA (mutual TLS).
	TLSCertFile     string
	TLSKeyFile      string
	TLSClientCAFile string
	// MaxPayload is the largest message accepted; 0 means
	// DefaultMaxPayload.
	MaxPayload int
	// Logger receives the server's log; nil means no server log.
	Logger *slog.Logger
}

// Server is a running in-process NATS server.
type Server struct {
	srv *server.Server
	tls bool
}

// Start starts a NATS server with JetStream and waits until it
// accepts clients or ctx ends. Restarting on the same DataDir keeps the
// streams and their records.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("natsserver: needs a data directory")
	}
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	port := cfg.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	maxPayload := cfg.MaxPayload
	if maxPayload <= 0 {
		maxPayload = DefaultMaxPayload
	}
	opts := &server.Options{
		ServerName: "mcptrail-bus",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.DataDir,
		MaxPayload: int32(min(maxPayload, 64<<20)),
		NoSigs:     true,
		NoLog:      cfg.Logger == nil,
	}
	if err := cfg.setAuth(opts); err != nil {
		return nil, err
	}
	if max := opts.MaxPayload; max > server.MAX_PENDING_SIZE/2 {
		opts.MaxPending = int64(max) * 2
	}
	tlsOn := cfg.TLSCertFile != "" || cfg.TLSKeyFile != ""
	if tlsOn {
		if cfg.TLSCertFile == "" || cfg.TLSKeyFile == "" {
			return nil, errors.New("natsserver: TLS needs both a certificate and a key")
		}
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
			CertFile: cfg.TLSCertFile,
			KeyFile:  cfg.TLSKeyFile,
			CaFile:   cfg.TLSClientCAFile,
			Verify:   cfg.TLSClientCAFile != "",
		})
		if err != nil {
			return nil, fmt.Errorf("natsserver: TLS: %w", err)
		}
		opts.TLS = true
		opts.TLSVerify = cfg.TLSClientCAFile != ""
		opts.TLSConfig = tc
		opts.TLSTimeout = 5
	} else if cfg.TLSClientCAFile != "" {
		return nil, errors.New("natsserver: client CA needs a TLS certificate and key")
	}

	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsserver: %w", err)
	}
	if cfg.Logger != nil {
		// The server drops debug messages (such as why a login was
		// refused) unless told to pass them on.
		debug := cfg.Logger.Enabled(ctx, slog.LevelDebug)
		srv.SetLoggerV2(serverLogger{cfg.Logger}, debug, false, false)
	}
	srv.Start()
	wait := readyTimeout
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl))
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("natsserver: on %s: not ready after %v (is the port in use?)",
			net.JoinHostPort(host, strconv.Itoa(max(cfg.Port, 0))), wait)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("natsserver: JetStream did not start (data dir %s)", cfg.DataDir)
	}
	return &Server{srv: srv, tls: tlsOn}, nil
}

// Addr is the host:port clients connect to.
func (e *Server) Addr() string {
	return e.srv.Addr().String()
}

// ClientURL is the URL clients connect to (tls:// when TLS is on).
func (e *Server) ClientURL() string {
	if e.tls {
		return "tls://" + e.Addr()
	}
	return "nats://" + e.Addr()
}

// Shutdown stops the server and waits until it has stopped.
func (e *Server) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// serverLogger sends the NATS server's log to slog.
type serverLogger struct{ l *slog.Logger }

func (s serverLogger) Noticef(format string, v ...any) { s.l.Info(fmt.Sprintf(format, v...)) }
func (s serverLogger) Warnf(format string, v ...any)   { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s serverLogger) Fatalf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLogger) Errorf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLogger) Debugf(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLogger) Tracef(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }

// Starter returns a function that starts a server with its store under
// dataDir, listening on listen (host:port), for busurl.Open's embedded
// bus. log receives the server's log; nil keeps it quiet.
func Starter(log *slog.Logger) func(ctx context.Context, dataDir, listen string) (string, func(), error) {
	return func(ctx context.Context, dataDir, listen string) (string, func(), error) {
		host, portText, err := net.SplitHostPort(listen)
		if err != nil {
			return "", nil, fmt.Errorf("natsserver: listen address %q: %w", listen, err)
		}
		port, err := strconv.Atoi(portText)
		if err != nil {
			return "", nil, fmt.Errorf("natsserver: listen port %q: %w", portText, err)
		}
		srv, err := Start(ctx, Config{Host: host, Port: port, DataDir: dataDir, Logger: log})
		if err != nil {
			return "", nil, err
		}
		return srv.Addr(), srv.Shutdown, nil
	}
}
