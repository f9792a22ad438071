package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mcptrail/mcptrail/collector/capture"
	"github.com/mcptrail/mcptrail/collector/redact"
	"github.com/mcptrail/mcptrail/collector/sink"
	"github.com/mcptrail/mcptrail/collector/token"
	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/busurl"
	"github.com/mcptrail/mcptrail/internal/telemetry"
	"github.com/mcptrail/mcptrail/internal/telemetry/vmset"
	"github.com/mcptrail/mcptrail/schemas"
)

// DefaultSink is where records go unless --sink says otherwise: the local
// mcptrail bus (`mcptrail bus` listens there by default).
const DefaultSink = "nats://127.0.0.1:4222"

// options are the flags wrap and proxy share.
type options struct {
	config         string
	serverName     string
	sink           string
	host           string
	stateDir       string
	spoolMax       byteSize
	siteKeyFile    string
	redact         bool
	redactKeys     []string
	redactPatterns []string
	rawPaths       []string
	maxLine        byteSize
	logLevel       string
	metricsListen  string
}

func (o *options) register(cmd *cobra.Command) {
	f := cmd.Flags()
	state := defaultStateDir()
	o.spoolMax, o.maxLine = 256<<20, 64<<20
	f.StringVar(&o.config, "config", "", "YAML file of options (keys are flag names)")
	f.StringVar(&o.serverName, "server-name", "", "name of the MCP server in the records (required)")
	f.StringVar(&o.sink, "sink", DefaultSink, "where records go: file:PATH, nats://HOST:PORT[/topic] or kafka://BROKERS/topic (bus URL parameters as for mcptrail)")
	f.StringVar(&o.host, "host", "", "host name in the records (default: the machine's host name)")
	f.StringVar(&o.stateDir, "state-dir", state, "directory for the spool and the site key")
	f.Var(&o.spoolMax, "spool-max", "largest spool on disk while the bus is down (e.g. 256MiB); beyond it records are dropped and counted")
	f.StringVar(&o.siteKeyFile, "site-key-file", "", "file of the site key that keys token fingerprints and redaction markers; created (0600) when absent (default: STATE_DIR/site.key; MCPTRAIL_SITE_KEY (hex) overrides)")
	f.BoolVar(&o.redact, "redact", true, "redact secrets before records leave the host (--redact=false keeps raw payloads)")
	f.StringArrayVar(&o.redactKeys, "redact-key", nil, "also redact the string value of members with this name (repeatable)")
	f.StringArrayVar(&o.redactPatterns, "redact-pattern", nil, "also redact text matching KIND=REGEXP (RE2; repeatable)")
	f.StringArrayVar(&o.rawPaths, "raw-path", nil, "leave this record path unredacted, e.g. msg.params.arguments.query ('*' matches one segment; repeatable)")
	f.Var(&o.maxLine, "max-line", "largest message captured (e.g. 64MiB); larger ones are relayed and recorded as parse errors")
	f.StringVar(&o.logLevel, "log-level", "info", "log level on stderr: debug, info, warn or error")
	telemetry.AddFlag(f, &o.metricsListen)
}

func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "mcptrail")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "mcptrail")
	}
	return "mcptrail-state"
}

// logger returns the stderr logger at the chosen level.
func (o *options) logger(cmd *cobra.Command) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, &configError{fmt.Errorf("--log-level: %q is not debug, info, warn or error", o.logLevel)}
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})), nil
}

// pipeline is a recorder with its sink, and the metrics and health
// endpoints when --metrics-listen asks for them.
type pipeline struct {
	rec     *capture.Recorder
	sink    capture.Sink
	siteKey []byte
	log     *slog.Logger
	ready   *telemetry.Readiness
	metrics *telemetry.Server // nil when off
}

// openPipeline builds the site key, redactor, sink and recorder from the
// options, and starts the metrics and health endpoints when
// --metrics-listen names an address (not ready until the caller says).
func (o *options) openPipeline(cmd *cobra.Command, getenv func(string) string, transport schemas.Transport, server schemas.Server) (*pipeline, error) {
	if err := applyConfig(cmd, getenv); err != nil {
		return nil, &configError{err}
	}
	if o.serverName == "" {
		return nil, &configError{errors.New("--server-name is required (the name of the MCP server in the records)")}
	}
	server.Name = o.serverName
	log, err := o.logger(cmd)
	if err != nil {
		return nil, err
	}
	set := vmset.NewSet()
	ready := telemetry.NewReadiness("opening the capture sink")
	var metrics *telemetry.Server
	if o.metricsListen != "" {
		metrics, err = telemetry.Start(cmd.Context(), telemetry.Config{Addr: o.metricsListen, Metrics: vmset.Handler(set), Ready: ready.Check, Logger: log})
		if err != nil {
			return nil, &configError{err}
		}
	}
	p, err := o.buildPipeline(log, transport, server)
	if err != nil {
		if metrics != nil {
			_ = metrics.Close()
		}
		return nil, err
	}
	registerMetrics(set, p.rec, p.sink)
	p.ready, p.metrics = ready, metrics
	return p, nil
}

// buildPipeline builds the site key, redactor, sink and recorder.
func (o *options) buildPipeline(log *slog.Logger, transport schemas.Transport, server schemas.Server) (*pipeline, error) {
	var err error
	host := o.host
	if host == "" {
		if host, err = os.Hostname(); err != nil || host == "" {
			host = "unknown-host"
		}
	}
	keyFile := o.siteKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(o.stateDir, "site.key")
	}
	siteKey, _, err := token.LoadSiteKey(keyFile)
	if err != nil {
		return nil, &configError{err}
	}
	redactor, err := o.redactor(siteKey)
	if err != nil {
		return nil, &configError{err}
	}
	out, err := o.openSink(log)
	if err != nil {
		return nil, err
	}
	rec, err := capture.New(capture.Config{Host: host, Server: server, Transport: transport, Redactor: redactor, Sink: out, Logger: log})
	if err != nil {
		_ = out.Close(context.Background())
		return nil, &configError{err}
	}
	return &pipeline{rec: rec, sink: out, siteKey: siteKey, log: log}, nil
}

func (o *options) redactor(siteKey []byte) (*redact.Redactor, error) {
	cfg := redact.Config{SiteKey: siteKey, ExtraKeys: o.redactKeys, RawPaths: o.rawPaths, Disable: !o.redact}
	for _, p := range o.redactPatterns {
		kind, re, ok := strings.Cut(p, "=")
		if !ok || kind == "" || re == "" {
			return nil, fmt.Errorf("--redact-pattern %q: want KIND=REGEXP", p)
		}
		cfg.ExtraPatterns = append(cfg.ExtraPatterns, redact.Pattern{Kind: kind, Regexp: re})
	}
	r, err := redact.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("redaction: %w", err)
	}
	return r, nil
}

// openSink opens file:PATH or a bus URL (through the spool).
func (o *options) openSink(log *slog.Logger) (capture.Sink, error) {
	if path, ok := strings.CutPrefix(o.sink, "file:"); ok {
		s, err := sink.OpenFile(path)
		if err != nil {
			return nil, &configError{err}
		}
		return s, nil
	}
	spec, err := busurl.Parse(o.sink)
	if err != nil {
		return nil, &configError{fmt.Errorf("--sink: %w", err)}
	}
	if spec.Kind == busurl.Embedded {
		return nil, &configError{errors.New("--sink: the collector cannot run an embedded bus; run `mcptrail bus` and use nats://HOST:PORT, or use file:PATH")}
	}
	url := o.sink
	s, err := sink.OpenBus(sink.BusOptions{
		Connect: func(ctx context.Context) (bus.Bus, error) {
			return busurl.Open(ctx, url, bus.Config{Logger: log}, nil)
		},
		SpoolRoot: filepath.Join(o.stateDir, "spool"), Name: o.serverName, SpoolMaxBytes: int64(o.spoolMax), Logger: log,
	})
	if err != nil {
		return nil, &configError{err}
	}
	return s, nil
}

// close delivers what it can within the deadline and closes the sink
// and the metrics endpoints.
func (p *pipeline) close(ctx context.Context) {
	p.ready.NotReady("stopping")
	if p.metrics != nil {
		defer func() { _ = p.metrics.Close() }()
	}
	if err := p.sink.Close(ctx); err != nil {
		p.log.Warn("closing the capture sink", "err", err)
	}
	if st := p.rec.Stats(); st.Dropped > 0 {
		p.log.Warn("capture records were dropped during this run; the MCP traffic was not affected", "recorded", st.Records, "dropped", st.Dropped)
	}
}
