package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/busurl"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
	"github.com/mcptrail/mcptrail/internal/telemetry"
	"github.com/mcptrail/mcptrail/internal/telemetry/promreg"
	"github.com/mcptrail/mcptrail/processor"
	"github.com/mcptrail/mcptrail/processor/store"
	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

type processOptions struct {
	busURL, chURL, database, group, instance string
	metricsListen                            string
	batchRows, batchBytes                    int
	batchWait, retryMax, metricsEvery        time.Duration
	ackWait, chainWait, grace                time.Duration
	chainAhead                               int
	debug                                    bool
}

func newProcessCommand() *cobra.Command {
	var o processOptions
	cmd := &cobra.Command{
		Use:   "process --bus URL --clickhouse URL",
		Short: "Consume capture records from the bus and store them as audit events in ClickHouse",
		Long: `process is the pipeline's processor. It joins the bus consumer group --group,
decodes each capture record, normalizes it into audit events (one per JSON-RPC
message), pairs responses with their requests, gives every event a stable id,
checks each collector stream's hash chain, and inserts the events into
ClickHouse in batches. It acknowledges the bus only after ClickHouse
confirmed a batch, so a crash loses nothing: unacknowledged records are
delivered again.

Batches: a batch is inserted at --batch-rows rows, --batch-bytes bytes of
records, or --batch-wait after its first record, whichever comes first. While
a batch is being inserted nothing more is pulled from the bus, so memory stays
bounded whatever the backlog.

Duplicates: each insert carries a deduplication token derived from the bus
positions it covers (partition, first and last position), so a retried or
wholly redelivered batch is dropped by ClickHouse. A redelivery cut into
different batches (after a crash) stores rows again under their same event
ids; the events table is a ReplacingMergeTree on the event id, so they
collapse on merge and read once with FINAL or count(DISTINCT event_id).

ClickHouse down: the insert is retried with exponential backoff (up to
--retry-max between attempts), logging each failure, and nothing more is
pulled until it succeeds. Keep --ack-wait above the longest outage you expect
to ride out; past it, NATS delivers the held records again (stored once all
the same, by event id).

Dead letters: a record that cannot be decoded goes to the bus's dead-letter
topic with the reason in a header, and to the dead_letters table, while the
rest flow.

Hash chains: records of one collector stream may come from several
partitions; the processor waits up to --chain-wait (and --chain-ahead
records) for an earlier record before reporting a gap. Gaps, edits,
reorderings and conflicts go to the chain_problems table and the log.
` + "`mcptrail verify`" + ` checks the stored streams completely.

Progress: every --metrics-interval a line with records/s, rows inserted,
dead letters, chain problems and the bus lag goes to stderr, and samples go
to the pipeline_metrics table, among them bus_lag_ms (the longest a batch's
newest record had waited on the bus when taken, in the period; 0 when idle)
and bus_pending (the records still on the bus behind those taken). SIGINT
or SIGTERM stops it: the current batch is finished within --shutdown-grace
or abandoned without acknowledgement.

Metrics and health: with --metrics-listen host:port (off by default) it
serves Prometheus metrics on /metrics (mcptrail_processor_*: records
consumed, rows inserted, insert duration, batches, retries, dead letters,
chain problems, records held, bus lag and backlog), liveness on /healthz
and readiness on /readyz: ready once its group consumer is open (on NATS
the group is joined then; on Kafka partitions may still be being assigned)
and while ClickHouse answers a ping.

--clickhouse takes clickhouse://user:pass@host:9000 (native protocol, the
default choice) or http(s)://host:8123 (HTTP). Run mcptrail migrate first.`,
		Example: `  mcptrail process --bus nats://127.0.0.1:4222 --clickhouse clickhouse://writer:secret@ch1:9000
  mcptrail process --bus kafka://broker1:9092/mcptrail-capture --clickhouse http://127.0.0.1:8123 --group processor`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runProcess(cmd, &o)
		},
	}
	host, _ := os.Hostname()
	f := cmd.Flags()
	f.StringVar(&o.busURL, "bus", "nats://127.0.0.1:4222", "bus URL (nats://, kafka://, or embedded)")
	f.StringVar(&o.chURL, "clickhouse", "", "ClickHouse URL (required)")
	f.StringVar(&o.database, "database", chschema.DefaultDatabase, "database holding the mcptrail tables")
	f.StringVar(&o.group, "group", "processor", "bus consumer group")
	f.StringVar(&o.instance, "instance", host, "name of this processor in pipeline_metrics")
	f.IntVar(&o.batchRows, "batch-rows", processor.DefaultBatchRows, "insert a batch when it holds this many rows")
	f.IntVar(&o.batchBytes, "batch-bytes", processor.DefaultBatchBytes, "insert a batch when its records reach this many bytes")
	f.DurationVar(&o.batchWait, "batch-wait", processor.DefaultBatchWait, "insert a batch this long after its first record at the latest")
	f.DurationVar(&o.retryMax, "retry-max", processor.DefaultRetryMax, "longest pause between insert retries")
	f.DurationVar(&o.metricsEvery, "metrics-interval", processor.DefaultMetricsEvery, "period of progress lines and pipeline_metrics samples")
	f.DurationVar(&o.ackWait, "ack-wait", 5*time.Minute, "how long the bus waits for an acknowledgement before delivering again (NATS)")
	f.DurationVar(&o.chainWait, "chain-wait", processor.DefaultChainMaxWait, "how long a chained record waits for an earlier one before a gap is reported")
	f.IntVar(&o.chainAhead, "chain-ahead", processor.DefaultChainMaxAhead, "how many records of a stream may wait for an earlier one")
	f.DurationVar(&o.grace, "shutdown-grace", processor.DefaultShutdownGrace, "how long a stop waits for the current batch's insert")
	f.BoolVar(&o.debug, "debug", false, "log every batch")
	telemetry.AddFlag(f, &o.metricsListen)
	return cmd
}

func runProcess(cmd *cobra.Command, o *processOptions) error {
	if o.chURL == "" {
		return withCode(ExitFailure, "--clickhouse URL is required (for example clickhouse://user:pass@host:9000 or http://host:8123)")
	}
	if o.batchRows <= 0 || o.batchBytes <= 0 || o.batchWait <= 0 {
		return withCode(ExitFailure, "--batch-rows, --batch-bytes and --batch-wait must be positive")
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
	reg := promreg.NewRegistry()
	ready := telemetry.NewReadiness("connecting to ClickHouse")
	if o.metricsListen != "" {
		srv, err := telemetry.Start(ctx, telemetry.Config{Addr: o.metricsListen, Metrics: promreg.Handler(reg), Ready: ready.Check, Logger: log})
		if err != nil {
			return withCode(ExitFailure, "process: %w", err)
		}
		defer srv.Close()
	}

	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	conn, err := store.Open(cctx, o.chURL)
	cancel()
	if err != nil {
		return withCode(ExitFailure, "process: %w", err)
	}
	defer conn.Close()
	sink, err := store.NewSink(conn, o.database)
	if err != nil {
		return withCode(ExitFailure, "process: %w", err)
	}

	ready.NotReady("connecting to the bus")
	b, err := busurl.Open(ctx, o.busURL, bus.Config{Logger: log.With("component", "bus")}, natsserver.Starter(nil))
	if err != nil {
		return withCode(ExitFailure, "process: bus: %w", err)
	}
	defer b.Close()
	source := ""
	if spec, err := busurl.Parse(o.busURL); err == nil {
		source = spec.Config.Topic
	}
	if source == "" {
		source = bus.DefaultTopic
	}
	cons, err := b.Consumer(ctx, bus.ConsumerConfig{Group: o.group, AckWait: o.ackWait})
	if err != nil {
		return withCode(ExitFailure, "process: join consumer group %s: %w", o.group, err)
	}
	defer cons.Close()

	where := store.Redact(o.chURL)
	if po, err := store.ParseURL(o.chURL); err == nil {
		where = store.Describe(po)
	}
	log.Info("processor: started", "group", o.group, "clickhouse", where, "database", o.database,
		"batch_rows", o.batchRows, "batch_wait", o.batchWait)
	insertSeconds := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "mcptrail_processor_insert_duration_seconds",
		Help:    "Time to insert a batch of event rows into ClickHouse, retries included.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14), // 5 ms to 41 s
	})
	reg.MustRegister(insertSeconds)
	p := processor.New(sink, processor.Config{
		Group: o.group, Source: source, Instance: o.instance,
		BatchRows: o.batchRows, BatchBytes: o.batchBytes, BatchWait: o.batchWait,
		RetryMax: o.retryMax, MetricsEvery: o.metricsEvery, ShutdownGrace: o.grace,
		Chain:  processor.ChainWindowConfig{MaxWait: o.chainWait, MaxAhead: o.chainAhead},
		Logger: log,
		OnInsert: func(_ int, took time.Duration) {
			insertSeconds.Observe(took.Seconds())
		},
	})
	registerProcessorMetrics(reg, p.Stats())
	ready.Ready(func(ctx context.Context) error {
		if err := conn.Ping(ctx); err != nil {
			return fmt.Errorf("ClickHouse %s: %w", where, err)
		}
		return nil
	})
	if err := p.Run(ctx, cons); err != nil {
		return withCode(ExitFailure, "%w", err)
	}
	s := p.Stats()
	log.Info("processor: stopped", "records", s.Records.Load(), "rows_inserted", s.Inserted.Load(),
		"dead_letters", s.DeadLetters.Load(), "chain_problems", s.ChainProblems.Load())
	return nil
}

// registerProcessorMetrics exposes the processor's counters and gauges.
func registerProcessorMetrics(reg *prometheus.Registry, s *processor.Stats) {
	for _, c := range []struct {
		name, help string
		v          *atomic.Int64
	}{
		{"mcptrail_processor_records_consumed_total", "Capture records taken from the bus.", &s.Records},
		{"mcptrail_processor_rows_inserted_total", "Event rows ClickHouse confirmed.", &s.Inserted},
		{"mcptrail_processor_batches_total", "Batches stored and acknowledged.", &s.Batches},
		{"mcptrail_processor_records_acked_total", "Records acknowledged on the bus.", &s.Acked},
		{"mcptrail_processor_insert_retries_total", "Failed inserts retried.", &s.InsertRetries},
		{"mcptrail_processor_dead_letters_total", "Records that could not be decoded, moved to the dead-letter topic.", &s.DeadLetters},
		{"mcptrail_processor_chain_problems_total", "Hash-chain problems recorded (gaps, edits, reorderings, conflicts).", &s.ChainProblems},
		{"mcptrail_processor_chain_duplicates_total", "Chained records delivered again.", &s.Duplicates},
	} {
		promreg.CounterFunc(reg, c.name, c.help, c.v.Load)
	}
	for _, g := range []struct {
		name, help string
		v          *atomic.Int64
	}{
		{"mcptrail_processor_held_records", "Records taken from the bus and not yet stored and acknowledged (the current batch).", &s.Held},
		{"mcptrail_processor_chain_waiting_records", "Chained records waiting for an earlier record of their stream.", &s.ChainWaiting},
		{"mcptrail_processor_pending_requests", "Requests waiting for their response.", &s.PendingRequests},
	} {
		promreg.GaugeFunc(reg, g.name, g.help, func() float64 { return float64(g.v.Load()) })
	}
	promreg.GaugeFunc(reg, "mcptrail_processor_bus_lag_seconds",
		"How long the newest record of the latest batch had waited on the bus when taken; 0 once idle with no backlog.",
		func() float64 { return time.Duration(s.BusLag.Load()).Seconds() })
	promreg.GaugeFunc(reg, "mcptrail_processor_bus_pending_records",
		"Records on the bus behind the latest ones taken (the consumer group's backlog as this member sees it).",
		func() float64 { return float64(s.BusPending.Load()) })
}
