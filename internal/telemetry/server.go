package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server timeouts.
const (
	// ReadyTimeout bounds one readiness check.
	ReadyTimeout = 5 * time.Second
	// ShutdownTimeout bounds how long Close waits for requests in flight.
	ShutdownTimeout = 5 * time.Second
)

// Config configures a Server.
type Config struct {
	// Addr is the host:port to listen on; port 0 picks a free port.
	Addr string
	// Metrics serves /metrics (promreg.Handler or vmset.Handler). Required.
	Metrics http.Handler
	// Ready decides /readyz; nil means ready whenever the server runs.
	Ready Check
	// Logger gets the listening address and serving errors; nil means
	// slog.Default.
	Logger *slog.Logger
}

// Server serves /metrics, /healthz and /readyz.
type Server struct {
	ln    net.Listener
	srv   *http.Server
	log   *slog.Logger
	done  chan struct{} // closed when Serve returned
	once  sync.Once
	err   error // Close's result
	stopC chan struct{}
}

// Start listens on cfg.Addr and serves until ctx ends or Close is called.
// It fails at once, naming the address, when it cannot listen.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Metrics == nil {
		return nil, errors.New("telemetry: a metrics handler is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("telemetry: cannot serve metrics on %q (--%s): %w", cfg.Addr, FlagName, err)
	}
	s := &Server{
		ln:    ln,
		log:   cfg.Logger,
		done:  make(chan struct{}),
		stopC: make(chan struct{}),
	}
	s.srv = &http.Server{
		Handler:           Handler(cfg.Metrics, cfg.Ready),
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("telemetry: metrics server stopped", "addr", s.Addr(), "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.stopC:
		}
	}()
	s.log.Info("telemetry: serving /metrics, /healthz and /readyz", "addr", s.Addr())
	return s, nil
}

// Addr is the address the server listens on (with the port chosen when
// the configured one was 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, letting requests in flight finish within
// ShutdownTimeout. It may be called more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		close(s.stopC)
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.err = fmt.Errorf("telemetry: shutdown: %w", err)
			_ = s.srv.Close()
		}
		<-s.done
	})
	return s.err
}

// Handler returns the HTTP handler of the endpoints: /metrics is metrics,
// /healthz answers 200, /readyz runs ready (nil: always ready).
func Handler(metrics http.Handler, ready Check) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
			defer cancel()
			if err := ready(ctx); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
				return
			}
		}
		_, _ = fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintln(w, "/metrics  Prometheus metrics\n/healthz  liveness\n/readyz   readiness")
	})
	return mux
}
