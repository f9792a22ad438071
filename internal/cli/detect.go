package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/mcptrail/mcptrail/detector"
	"github.com/mcptrail/mcptrail/detector/alert"
	"github.com/mcptrail/mcptrail/detector/findingstore"
	"github.com/mcptrail/mcptrail/detector/rules"
	"github.com/mcptrail/mcptrail/detector/seqmodel"
	"github.com/mcptrail/mcptrail/detector/stream"
	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/busurl"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
	"github.com/mcptrail/mcptrail/internal/progress"
	"github.com/mcptrail/mcptrail/internal/telemetry"
	"github.com/mcptrail/mcptrail/internal/telemetry/promreg"
	"github.com/mcptrail/mcptrail/processor"
	"github.com/mcptrail/mcptrail/processor/store"
	"github.com/mcptrail/mcptrail/schemas"
)

type detectOptions struct {
	input       string
	format      string
	rulesDir    string
	modelFile   string
	minSeverity string
	quiet       bool

	busURL        string
	group         string
	chURL         string
	database      string
	alertmanager  string
	webhook       string
	webhookSecret string
	slack         string
	sessionURL    string
	alertSeverity string
	metricsListen string
	instance      string
	metricsEvery  time.Duration
}

func newDetectCommand() *cobra.Command {
	var o detectOptions
	cmd := &cobra.Command{
		Use:   "detect (--input FILE|- | --bus URL)",
		Short: "Flag exfiltration, prompt injection, poisoned tools, token misuse and unusual chains",
		Long: `detect runs the detection engine over capture records and prints its
findings: one JSON object per line (--format jsonl, the default) with ts,
session, rule, severity, title, call_ids and evidence, or an aligned table
(--format table).

With --input it reads a capture file (or - for standard input) and ends at
its end. The exit code is 0 with or without findings, and 2 on an error
(an unreadable file, a bad rule file, a bad line: the line is named).

With --bus it joins its own consumer group on the live stream and runs
until interrupted: findings go to the ClickHouse findings table
(--clickhouse), and incidents at --alert-severity or above (one per session)
to Alertmanager's v2 API, a signed JSON webhook and a Slack-compatible
webhook. Records are acknowledged only once their findings are stored.
With --clickhouse it also writes, every --metrics-interval, its bus lag
(bus_lag_ms: the longest a batch's newest record had waited on the bus when
taken, in the period; 0 when idle) and backlog (bus_pending) to the
pipeline_metrics table, as --instance.

The built-in rules (detector/rules) always apply; --rules adds a folder of
YAML rule files, which may also replace a built-in class or rule by name.

Metrics and health (--bus only): with --metrics-listen host:port (off by
default) it serves Prometheus metrics on /metrics (mcptrail_detector_*:
records observed, findings by rule and severity, active sessions, bus lag
and backlog, alert deliveries and errors), liveness on /healthz and
readiness on /readyz: ready once it joined the consumer group and, with
--clickhouse, while ClickHouse answers a ping.`,
		Example: `  mcptrail detect --input capture.jsonl --format table
  mcptrail detect --input capture.jsonl --rules ./my-rules --min-severity high
  mcptrail detect --bus embedded --clickhouse clickhouse://detector@localhost:9000 \
      --alertmanager http://127.0.0.1:9093 \
      --session-url 'https://grafana.example/d/mcptrail-session?var-session={{.Session | urlquery}}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDetect(cmd, &o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.input, "input", "i", "", "capture file to read, or - for standard input")
	f.StringVar(&o.format, "format", "jsonl", "findings format: jsonl or table")
	f.StringVar(&o.rulesDir, "rules", "", "folder of YAML rule files to add to the built-in rules")
	f.StringVar(&o.modelFile, "model", "", "tool-transition model from mcptrail train: adds the unusual-chain detections")
	f.StringVar(&o.minSeverity, "min-severity", "info", "print findings at this severity or above (info, low, medium, high, critical)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print no progress on stderr")
	f.StringVar(&o.busURL, "bus", "", "consume the live stream from this bus (embedded, nats://..., kafka://...)")
	f.StringVar(&o.group, "group", "detector", "consumer group on the bus")
	f.StringVar(&o.chURL, "clickhouse", "", "store findings in this ClickHouse (clickhouse://... native, http(s)://... HTTP)")
	f.StringVar(&o.database, "database", "", "ClickHouse database (default mcptrail)")
	f.StringVar(&o.alertmanager, "alertmanager", "", "Alertmanager base URL for alerts (POST /api/v2/alerts)")
	f.StringVar(&o.webhook, "webhook", "", "URL of a JSON webhook for alerts, signed with HMAC-SHA256")
	f.StringVar(&o.webhookSecret, "webhook-secret-env", "MCPTRAIL_WEBHOOK_SECRET", "environment variable holding the webhook's HMAC secret")
	f.StringVar(&o.slack, "slack-webhook", "", "Slack-compatible incoming webhook URL for alerts")
	f.StringVar(&o.sessionURL, "session-url", "", "link template for an alert's session, e.g. https://grafana/d/mcptrail-session?var-session={{.Session | urlquery}}")
	f.StringVar(&o.alertSeverity, "alert-severity", "high", "alert on incidents at this severity or above")
	host, _ := os.Hostname()
	f.StringVar(&o.instance, "instance", host, "name of this detector in pipeline_metrics (--bus with --clickhouse)")
	f.DurationVar(&o.metricsEvery, "metrics-interval", processor.DefaultMetricsEvery, "period of the pipeline_metrics samples (--bus with --clickhouse)")
	telemetry.AddFlag(f, &o.metricsListen)
	return cmd
}

func runDetect(cmd *cobra.Command, o *detectOptions) error {
	if (o.input == "") == (o.busURL == "") {
		return withCode(ExitFailure, "detect: give exactly one of --input FILE|- and --bus URL")
	}
	if o.metricsListen != "" && o.busURL == "" {
		return withCode(ExitFailure, "detect: --%s serves the live detector's metrics; it needs --bus", telemetry.FlagName)
	}
	if o.metricsEvery <= 0 {
		return withCode(ExitFailure, "detect: --metrics-interval must be positive")
	}
	minSev, err := detector.ParseSeverity(o.minSeverity)
	if err != nil {
		return withCode(ExitFailure, "--min-severity: %w", err)
	}
	set, err := rules.Load(o.rulesDir)
	if err != nil {
		return withCode(ExitFailure, "detect: %w", err)
	}
	report, err := detector.NewReport(cmd.OutOrStdout(), o.format)
	if err != nil {
		return withCode(ExitFailure, "%w", err)
	}
	opts := detector.Options{Rules: set}
	if o.modelFile != "" {
		m, err := seqmodel.LoadFile(o.modelFile)
		if err != nil {
			return withCode(ExitFailure, "detect: --model: %w", err)
		}
		opts.Extra = append(opts.Extra, detector.NewChainDetection(m, detector.ChainOptions{}))
	}
	eng, err := detector.New(opts)
	if err != nil {
		return withCode(ExitFailure, "detect: %w", err)
	}
	print := func(f detector.Finding) {
		if f.Severity >= minSev {
			report.Write(f)
		}
	}
	if o.busURL != "" {
		return detectBus(cmd, o, eng, print, report)
	}
	return detectFile(cmd, o, eng, print, report)
}

func detectFile(cmd *cobra.Command, o *detectOptions, eng *detector.Engine, print detector.Emit, report *detector.Report) error {
	in, size, closeIn, err := openInput(cmd, o.input)
	if err != nil {
		return withCode(ExitFailure, "%w", err)
	}
	defer closeIn()
	var prog *progress.Reporter
	if !o.quiet {
		prog = progress.New(cmd.ErrOrStderr(), "detect", size)
	}
	r := schemas.NewReader(in)
	var rec schemas.Record
	for {
		if err := cmd.Context().Err(); err != nil {
			return withCode(ExitFailure, "detect %s: interrupted at line %d", o.input, r.Line())
		}
		err := r.NextInto(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return withCode(ExitFailure, "detect %s: %w", o.input, err)
		}
		eng.Observe(&rec, print)
		if prog != nil && r.Line()%4096 == 0 {
			prog.Update(r.Offset(), r.Line())
		}
	}
	eng.Close(print)
	if prog != nil {
		prog.Done(r.Offset(), r.Line())
	}
	if err := report.Err(); err != nil {
		return withCode(ExitFailure, "detect: write findings: %w", err)
	}
	if !o.quiet {
		fmt.Fprintf(cmd.ErrOrStderr(), "detect: %d records, %s\n", r.Line(), report.Summary())
	}
	return nil
}

func detectBus(cmd *cobra.Command, o *detectOptions, eng *detector.Engine, print detector.Emit, report *detector.Report) error {
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reg := promreg.NewRegistry()
	ready := telemetry.NewReadiness("starting")
	if o.metricsListen != "" {
		srv, err := telemetry.Start(ctx, telemetry.Config{Addr: o.metricsListen, Metrics: promreg.Handler(reg), Ready: ready.Check, Logger: log})
		if err != nil {
			return withCode(ExitFailure, "detect: %w", err)
		}
		defer srv.Close()
	}

	findings := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcptrail_detector_findings_total",
		Help: "Findings raised, by rule and severity.",
	}, []string{"rule", "severity"})
	reg.MustRegister(findings)
	onFinding := func(f detector.Finding) {
		findings.WithLabelValues(f.Rule, f.Severity.String()).Inc()
		print(f)
	}
	cfg := stream.Config{Engine: eng, OnFinding: onFinding, Logger: log}
	var ping telemetry.Check
	var samples *store.Sink
	if o.chURL != "" {
		ready.NotReady("connecting to ClickHouse")
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		conn, err := store.Open(cctx, o.chURL)
		cancel()
		if err != nil {
			return withCode(ExitFailure, "detect: %w", err)
		}
		defer conn.Close()
		w, err := findingstore.NewWriter(conn, o.database)
		if err != nil {
			return withCode(ExitFailure, "detect: %w", err)
		}
		cfg.Store = w
		if samples, err = store.NewSink(conn, o.database); err != nil {
			return withCode(ExitFailure, "detect: %w", err)
		}
		ping = func(ctx context.Context) error {
			if err := conn.Ping(ctx); err != nil {
				return fmt.Errorf("ClickHouse %s: %w", store.Redact(o.chURL), err)
			}
			return nil
		}
	}
	n, err := detectNotifier(o)
	if err != nil {
		return withCode(ExitFailure, "detect: %w", err)
	}
	var notifier *observedNotifier
	if n != nil {
		notifier = &observedNotifier{Notifier: n}
		cfg.Notify = notifier
	}
	ready.NotReady("connecting to the bus")

	b, err := busurl.Open(ctx, o.busURL, bus.Config{Logger: log.With("component", "bus")}, natsserver.Starter(nil))
	if err != nil {
		return withCode(ExitFailure, "detect: bus: %w", err)
	}
	defer b.Close()
	cons, err := b.Consumer(ctx, bus.ConsumerConfig{Group: o.group})
	if err != nil {
		return withCode(ExitFailure, "detect: bus consumer: %w", err)
	}
	defer cons.Close()
	cfg.Consumer = cons
	run, err := stream.New(cfg)
	if err != nil {
		return withCode(ExitFailure, "detect: %w", err)
	}
	registerDetectorMetrics(reg, run, notifier)
	ready.Ready(ping)
	log.Info("detector running", "bus", o.busURL, "group", o.group, "engine", eng.String())
	done := make(chan error, 1)
	go func() { done <- run.Run(ctx) }()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	var sample <-chan time.Time // pipeline_metrics samples, with ClickHouse
	if samples != nil {
		st := time.NewTicker(o.metricsEvery)
		defer st.Stop()
		sample = st.C
	}
	for {
		select {
		case err := <-done:
			st := run.Stats()
			log.Info("detector stopped", "records", st.Records, "findings", st.Findings, "undecodable", st.Undecodable, "summary", report.Summary())
			if err != nil {
				return withCode(ExitFailure, "detect: %w", err)
			}
			return nil
		case <-tick.C:
			if notifier != nil {
				if err := notifier.Refresh(ctx); err != nil {
					log.Warn("alert refresh failed", "err", err)
				}
			}
			st := run.Stats()
			log.Info("detector progress", "sessions", st.Sessions, "bus_lag_ms", st.BusLag.Milliseconds(), "bus_pending", st.BusPending,
				"summary", report.Summary())
		case now := <-sample:
			writeDetectorSamples(ctx, samples, o.instance, now, run, log)
		}
	}
}

// writeDetectorSamples records the detector's bus lag in pipeline_metrics
// for the pipeline dashboard: bus_lag_ms, the highest lag in the period
// (0 when idle), and bus_pending, the backlog now.
func writeDetectorSamples(ctx context.Context, sink *store.Sink, instance string, now time.Time, run *stream.Runner, log *slog.Logger) {
	lag, pending := run.PeakBusLag(), run.Stats().BusPending
	m := func(name string, v float64) processor.Metric {
		return processor.Metric{TS: now, Component: "detector", Instance: instance, Name: name, Value: v}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sink.InsertMetrics(ctx, []processor.Metric{
		m("bus_lag_ms", float64(lag)/float64(time.Millisecond)),
		m("bus_pending", float64(pending)),
	}); err != nil {
		log.Debug("detector: pipeline_metrics not recorded", "err", err)
	}
}

// detectNotifier builds the alert outputs the flags ask for, or nil.
func detectNotifier(o *detectOptions) (*alert.Notifier, error) {
	var outputs []alert.Output
	if o.alertmanager != "" {
		am, err := alert.NewAlertmanager(alert.AlertmanagerConfig{URL: o.alertmanager})
		if err != nil {
			return nil, err
		}
		outputs = append(outputs, am)
	}
	if o.webhook != "" {
		secret := os.Getenv(o.webhookSecret)
		if secret == "" {
			return nil, fmt.Errorf("--webhook needs its HMAC secret in the environment variable %s", o.webhookSecret)
		}
		wh, err := alert.NewWebhook(alert.WebhookConfig{URL: o.webhook, Secret: []byte(secret)})
		if err != nil {
			return nil, err
		}
		outputs = append(outputs, wh)
	}
	if o.slack != "" {
		sl, err := alert.NewSlack(alert.SlackConfig{URL: o.slack})
		if err != nil {
			return nil, err
		}
		outputs = append(outputs, sl)
	}
	if len(outputs) == 0 {
		return nil, nil
	}
	sev, err := detector.ParseSeverity(o.alertSeverity)
	if err != nil {
		return nil, fmt.Errorf("--alert-severity: %w", err)
	}
	link, err := alert.NewLinker(o.sessionURL)
	if err != nil {
		return nil, fmt.Errorf("--session-url: %w", err)
	}
	cfg := alert.DefaultConfig()
	cfg.Outputs, cfg.MinSeverity, cfg.Link = outputs, sev, link
	return alert.NewNotifier(cfg)
}

// observedNotifier keeps the alert outputs' counters readable while the
// notifier delivers: alert.Notifier.Stats waits for a delivery in
// progress, which may retry for a while, and a scrape must not.
type observedNotifier struct {
	*alert.Notifier
	sent, errors, open atomic.Int64
}

// Add passes findings on and then takes the counters.
func (n *observedNotifier) Add(ctx context.Context, findings ...detector.Finding) error {
	err := n.Notifier.Add(ctx, findings...)
	n.observe()
	return err
}

// Refresh passes the refresh on and then takes the counters.
func (n *observedNotifier) Refresh(ctx context.Context) error {
	err := n.Notifier.Refresh(ctx)
	n.observe()
	return err
}

func (n *observedNotifier) observe() {
	st := n.Stats()
	n.sent.Store(int64(st.Sent))
	n.errors.Store(int64(st.SendErrors))
	n.open.Store(int64(st.Open))
}

// registerDetectorMetrics exposes the live detector's counters; notifier
// may be nil (no alert outputs).
func registerDetectorMetrics(reg *prometheus.Registry, run *stream.Runner, notifier *observedNotifier) {
	stat := func(field func(stream.Stats) int64) func() int64 {
		return func() int64 { return field(run.Stats()) }
	}
	promreg.CounterFunc(reg, "mcptrail_detector_records_observed_total", "Capture records taken from the bus.",
		stat(func(s stream.Stats) int64 { return s.Records }))
	promreg.CounterFunc(reg, "mcptrail_detector_records_undecodable_total", "Records that could not be decoded (counted, not dead-lettered).",
		stat(func(s stream.Stats) int64 { return s.Undecodable }))
	promreg.CounterFunc(reg, "mcptrail_detector_store_retries_total", "Failed inserts of findings into ClickHouse retried.",
		stat(func(s stream.Stats) int64 { return s.StoreRetries }))
	promreg.CounterFunc(reg, "mcptrail_detector_sessions_evicted_total",
		"Sessions ended before they went idle because the engine held its maximum (their state was dropped).",
		stat(func(s stream.Stats) int64 { return s.SessionsEvicted }))
	promreg.GaugeFunc(reg, "mcptrail_detector_sessions_active", "Sessions the engine keeps state for.", func() float64 {
		return float64(run.Stats().Sessions)
	})
	promreg.GaugeFunc(reg, "mcptrail_detector_bus_lag_seconds",
		"How long the newest record of the latest batch had waited on the bus when taken; 0 once idle with no backlog.",
		func() float64 { return run.Stats().BusLag.Seconds() })
	promreg.GaugeFunc(reg, "mcptrail_detector_bus_pending_records",
		"Records on the bus behind the latest ones taken (the consumer group's backlog as this member sees it).",
		func() float64 { return float64(run.Stats().BusPending) })
	if notifier == nil {
		return
	}
	promreg.CounterFunc(reg, "mcptrail_detector_alerts_sent_total", "Alerts delivered, summed over the outputs.", notifier.sent.Load)
	promreg.CounterFunc(reg, "mcptrail_detector_alert_errors_total", "Failed alert deliveries (retried later).", notifier.errors.Load)
	promreg.GaugeFunc(reg, "mcptrail_detector_incidents_open", "Incidents open (one per session with findings at the alert severity).", func() float64 {
		return float64(notifier.open.Load())
	})
}
