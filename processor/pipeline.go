package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/schemas"
)

// Processor defaults.
const (
	DefaultBatchRows     = 20000
	DefaultBatchBytes    = 32 << 20
	DefaultBatchWait     = time.Second
	DefaultRetryMin      = 250 * time.Millisecond
	DefaultRetryMax      = 30 * time.Second
	DefaultMetricsEvery  = 10 * time.Second
	DefaultShutdownGrace = 10 * time.Second
	// fetchMax is the most records asked of the bus at once.
	fetchMax = 1000
	// ackAttempts is how often an acknowledgement is tried before the
	// batch is left to be delivered again (its rows are stored already).
	ackAttempts = 3
)

// ErrNoTable is wrapped by a Sink when the table it writes to does not
// exist (an older schema): the processor stops writing there and says so.
var ErrNoTable = errors.New("table does not exist")

// Config tunes a Processor. Zero fields take the defaults.
type Config struct {
	// Group is the bus consumer group; with Source it makes the insert
	// deduplication tokens unique to this pipeline.
	Group, Source string
	// Instance names this processor in pipeline_metrics (the host name).
	Instance string
	// A batch is inserted when it holds BatchRows rows or BatchBytes bytes
	// of records, or when its first record has waited BatchWait.
	BatchRows  int
	BatchBytes int
	BatchWait  time.Duration
	// Failed inserts are retried after RetryMin, doubling up to RetryMax,
	// until they succeed or the processor is stopped.
	RetryMin, RetryMax time.Duration
	// MetricsEvery is the period of the progress line and of the
	// pipeline_metrics samples.
	MetricsEvery time.Duration
	// ShutdownGrace bounds the last insert when the processor is stopped;
	// a batch not confirmed by then is abandoned unacknowledged.
	ShutdownGrace time.Duration
	// MaxPending bounds the requests waiting for their response (Pairer).
	MaxPending int
	// Chain bounds the reorder window of the chain checks.
	Chain ChainWindowConfig
	// Logger gets the progress lines and the retry messages.
	Logger *slog.Logger
	// OnInsert, if set, hears of every insert of event rows ClickHouse
	// confirmed: how many rows and how long it took, retries included
	// (for metrics). It is called from Run's goroutine.
	OnInsert func(rows int, took time.Duration)
}

func (c Config) withDefaults() Config {
	if c.Group == "" {
		c.Group = "processor"
	}
	if c.BatchRows <= 0 {
		c.BatchRows = DefaultBatchRows
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.BatchWait <= 0 {
		c.BatchWait = DefaultBatchWait
	}
	if c.RetryMin <= 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(DefaultRetryMax, c.RetryMin)
	}
	if c.MetricsEvery <= 0 {
		c.MetricsEvery = DefaultMetricsEvery
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Stats are a Processor's counters since it started, and gauges of its
// state. They may be read while it runs.
type Stats struct {
	Records       atomic.Int64 // bus records taken
	Inserted      atomic.Int64 // event rows ClickHouse confirmed
	Batches       atomic.Int64 // batches confirmed and acknowledged
	DeadLetters   atomic.Int64 // records dead-lettered
	ChainProblems atomic.Int64 // chain problems recorded
	Duplicates    atomic.Int64 // chained records delivered again
	InsertRetries atomic.Int64 // failed inserts retried
	Acked         atomic.Int64 // records acknowledged

	Held            atomic.Int64 // records in the current batch, not yet stored and acknowledged
	ChainWaiting    atomic.Int64 // chained records waiting for an earlier one
	PendingRequests atomic.Int64 // requests waiting for their response
	BusLag          atomic.Int64 // nanoseconds the newest record of the latest batch waited on the bus (bus.Lag)
	BusPending      atomic.Int64 // records behind the latest ones taken, on the bus (bus.Lag)
}

// Processor is `mcptrail process`: it consumes capture records, turns them
// into event rows, checks the collector streams' hash chains, and writes
// batches to a Sink, acknowledging the bus only after the Sink confirmed.
// While a batch is being written it pulls nothing more, so memory stays
// bounded by one batch (plus the bus client's own buffer) whatever the
// backlog.
type Processor struct {
	cfg    Config
	sink   Sink
	log    *slog.Logger
	norm   *Normalizer
	chains *ChainWindow
	cur    *batch
	rec    schemas.Record // its Msg is a slice of the delivery's value, which the batch keeps
	stats  Stats
	lag    bus.Lag

	deadTable    bool // write dead_letters rows
	lastInsert   time.Duration
	lastReport   time.Time
	lastRecords  int64
	lastInserted int64 // rows_inserted_total at the last report
	lastDead     int64 // dead_letters_total at the last report
}

// New returns a Processor writing to sink.
func New(sink Sink, cfg Config) *Processor {
	cfg = cfg.withDefaults()
	return &Processor{
		cfg:       cfg,
		sink:      sink,
		log:       cfg.Logger,
		norm:      NewNormalizer(cfg.MaxPending),
		chains:    NewChainWindow(cfg.Chain),
		cur:       newBatch(),
		deadTable: true,
	}
}

// Stats returns the Processor's counters.
func (p *Processor) Stats() *Stats { return &p.stats }

// Run consumes from cons until ctx ends, then finishes the current batch
// within ShutdownGrace or abandons it without acknowledging (the bus
// delivers it again). It returns nil after a stop, and an error only when
// the consumer fails for good.
func (p *Processor) Run(ctx context.Context, cons bus.Consumer) error {
	p.lastReport = time.Now()
	nextReport := p.lastReport.Add(p.cfg.MetricsEvery)
	failures := 0
	for {
		p.gauges()
		if ctx.Err() != nil {
			p.shutdown(ctx, cons)
			return nil
		}
		now := time.Now()
		wait := nextReport.Sub(now)
		if !p.cur.empty() {
			wait = min(wait, p.cur.started.Add(p.cfg.BatchWait).Sub(now))
		}
		if wait > 0 {
			fctx, cancel := context.WithTimeout(ctx, wait)
			ds, err := cons.Fetch(fctx, min(fetchMax, max(1, p.cfg.BatchRows-p.cur.cols.Len())))
			cancel()
			switch {
			case err == nil:
				failures = 0
				p.lag.Observe(time.Now(), ds)
			case ctx.Err() != nil:
				continue
			case errors.Is(err, context.DeadlineExceeded):
				p.lag.Idle(time.Now()) // nothing came
			case errors.Is(err, bus.ErrClosed):
				p.shutdown(ctx, cons)
				return fmt.Errorf("processor: consume: %w", err)
			default:
				failures++
				pause := backoff(p.cfg.RetryMin, p.cfg.RetryMax, failures)
				p.log.Warn("processor: bus fetch failed, retrying", "err", err, "retry_in", pause)
				sleep(ctx, pause)
			}
			now = time.Now()
			for _, d := range ds {
				p.add(now, d)
			}
		}
		now = time.Now()
		if now.After(nextReport) || now.Equal(nextReport) {
			p.addProblems(now, p.chains.Expire(now))
			p.report(ctx, now)
			nextReport = now.Add(p.cfg.MetricsEvery)
		}
		if p.due(now) {
			if err := p.flush(ctx, cons, true); err != nil {
				continue // stopped while retrying: shutdown above
			}
		}
	}
}

// gauges publishes the state Run keeps in Stats, for readers on other
// goroutines (metrics).
func (p *Processor) gauges() {
	p.stats.Held.Store(int64(p.cur.records))
	p.stats.ChainWaiting.Store(int64(p.chains.Waiting()))
	p.stats.PendingRequests.Store(int64(p.norm.Pairer().Pending()))
	p.stats.BusLag.Store(int64(p.lag.Lag()))
	p.stats.BusPending.Store(int64(p.lag.Pending()))
}

// due reports whether the current batch should be written now.
func (p *Processor) due(now time.Time) bool {
	b := p.cur
	if b.empty() {
		return false
	}
	return b.cols.Len() >= p.cfg.BatchRows || b.bytes >= p.cfg.BatchBytes || now.Sub(b.started) >= p.cfg.BatchWait
}

// add takes one delivery into the current batch.
func (p *Processor) add(now time.Time, d *bus.Delivery) {
	b := p.cur
	b.note(now, d)
	p.stats.Records.Add(1)
	if err := p.norm.Decode(d.Value, &p.rec); err != nil {
		b.dead = append(b.dead, deadDelivery{d: d, reason: DeadLetterReason(err)})
		return
	}
	b.acks = append(b.acks, d)
	rec := &p.rec
	if rec.Stream == "" || rec.Seq == 0 {
		p.norm.Add(rec, &b.cols)
		return
	}
	canon, fromLine, err := Canonical(rec, d.Value)
	if err != nil {
		p.log.Warn("processor: cannot encode a chained record; stored without its chain frame", "stream", rec.Stream, "seq", rec.Seq, "err", err)
		p.norm.Add(rec, &b.cols)
		return
	}
	p.norm.AddChained(rec, canon, &b.cols)
	before := p.chains.Duplicates
	p.addProblems(now, p.chains.Add(now, ChainLink{
		Stream: rec.Stream, Host: rec.Host, Session: rec.Session, Seq: rec.Seq, Chain: rec.Chain,
		Canon: canon, FromLine: fromLine,
	}))
	p.stats.Duplicates.Add(p.chains.Duplicates - before)
}

// addProblems queues chain problems for the next insert.
func (p *Processor) addProblems(now time.Time, ps []ChainReport) {
	if len(ps) == 0 {
		return
	}
	for _, pr := range ps {
		p.log.Warn("processor: hash chain problem", "problem", pr.String(), "host", pr.Host, "session", pr.Session)
	}
	if p.cur.started.IsZero() {
		p.cur.started = now
	}
	p.cur.problems = append(p.cur.problems, ps...)
}

// DeadLetterReason is the dead-letter reason of a decoding error: the
// kind and the words of `mcptrail validate`, without the line number.
func DeadLetterReason(err error) string {
	var le *schemas.LineError
	if errors.As(err, &le) {
		s := string(le.Kind) + ": "
		if le.Field != "" {
			s += "field " + strconv.Quote(le.Field) + ": "
		}
		return s + le.Reason
	}
	return err.Error()
}

// flush writes the current batch and then acknowledges it. With retry it
// retries failed writes until ctx ends; without, it tries each write once.
// It returns an error, leaving the batch in place and unacknowledged,
// when it could not finish.
func (p *Processor) flush(ctx context.Context, cons bus.Consumer, retry bool) error {
	b := p.cur
	if b.empty() {
		return nil
	}
	start := time.Now()
	ranges := b.positionRanges()
	token := Token(p.cfg.Group, p.cfg.Source, ranges)
	do := func(what string, fn func(context.Context) error) error {
		if !retry {
			return fn(ctx)
		}
		return p.retry(ctx, what, fn)
	}
	if n := b.cols.Len(); n > 0 {
		if err := do(fmt.Sprintf("insert of %d events (token %s)", n, token), func(ctx context.Context) error {
			return p.sink.InsertEvents(ctx, &b.cols, token)
		}); err != nil {
			return err
		}
	}
	p.lastInsert = time.Since(start)
	if n := b.cols.Len(); n > 0 && p.cfg.OnInsert != nil {
		p.cfg.OnInsert(n, p.lastInsert)
	}
	if len(b.problems) > 0 {
		if err := do(fmt.Sprintf("insert of %d chain problems", len(b.problems)), func(ctx context.Context) error {
			return p.sink.InsertChainProblems(ctx, start, b.problems)
		}); err != nil {
			return err
		}
	}
	if len(b.dead) > 0 {
		if err := p.deadLetter(ctx, cons, b, do); err != nil {
			return err
		}
	}
	if len(b.acks) > 0 {
		var err error
		for attempt := range ackAttempts {
			if err = cons.Ack(ctx, b.acks...); err == nil || ctx.Err() != nil {
				break
			}
			sleep(ctx, backoff(p.cfg.RetryMin, p.cfg.RetryMax, attempt+1))
		}
		if err != nil {
			// The rows are stored: a redelivery is collapsed by the
			// deduplication token or the stable event ids.
			p.log.Warn("processor: bus acknowledgement failed; the records will be delivered again", "records", len(b.acks), "err", err)
		} else {
			p.stats.Acked.Add(int64(len(b.acks)))
		}
	}
	p.stats.Inserted.Add(int64(b.cols.Len()))
	p.stats.ChainProblems.Add(int64(len(b.problems)))
	p.stats.Batches.Add(1)
	p.log.Debug("processor: batch stored", "rows", b.cols.Len(), "records", b.records, "token", token, "ms", time.Since(start).Milliseconds())
	b.reset()
	return nil
}

// deadLetter records the batch's undecodable records (dead_letters rows,
// when the table exists) and moves them to the bus's dead-letter topic,
// which acknowledges them.
func (p *Processor) deadLetter(ctx context.Context, cons bus.Consumer, b *batch, do func(string, func(context.Context) error) error) error {
	if p.deadTable {
		rows := make([]DeadLetter, len(b.dead))
		now := time.Now()
		for i, dd := range b.dead {
			rows[i] = DeadLetter{
				At: now, Source: "capture/" + strconv.Itoa(dd.d.Partition),
				Position: strconv.Itoa(dd.d.Partition) + "/" + strconv.FormatUint(dd.d.Position, 10),
				Reason:   dd.reason, Payload: dd.d.Value,
			}
		}
		err := do(fmt.Sprintf("insert of %d dead letters", len(rows)), func(ctx context.Context) error {
			return p.sink.InsertDeadLetters(ctx, rows)
		})
		switch {
		case errors.Is(err, ErrNoTable):
			p.deadTable = false
			p.log.Warn("processor: no dead_letters table (run mcptrail migrate); dead letters go to the bus only", "err", err)
		case err != nil:
			return err
		}
	}
	for len(b.dead) > 0 {
		dd := b.dead[0]
		if err := do(fmt.Sprintf("dead-lettering partition %d position %d", dd.d.Partition, dd.d.Position), func(ctx context.Context) error {
			return cons.DeadLetter(ctx, dd.d, dd.reason)
		}); err != nil {
			return err
		}
		p.log.Warn("processor: record dead-lettered", "partition", dd.d.Partition, "position", dd.d.Position, "reason", dd.reason)
		p.stats.DeadLetters.Add(1)
		b.dead = b.dead[1:]
	}
	return nil
}

// retry runs fn until it succeeds or ctx ends, pausing with exponential
// backoff between attempts. A missing table is not retried.
func (p *Processor) retry(ctx context.Context, what string, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			if attempt > 1 {
				p.log.Info("processor: recovered: "+what+" succeeded", "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrNoTable) {
			return err
		}
		pause := backoff(p.cfg.RetryMin, p.cfg.RetryMax, attempt)
		p.stats.InsertRetries.Add(1)
		p.log.Warn("processor: "+what+" failed; holding the batch (not acknowledged, nothing more pulled) and retrying",
			"attempt", attempt, "retry_in", pause, "err", err)
		if !sleep(ctx, pause) {
			return ctx.Err()
		}
	}
}

// shutdown finishes the current batch within ShutdownGrace, trying each
// write once, or abandons it unacknowledged.
func (p *Processor) shutdown(ctx context.Context, cons bus.Consumer) {
	b := p.cur
	if !b.empty() {
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.ShutdownGrace)
		err := p.flush(gctx, cons, false)
		cancel()
		if err != nil {
			p.log.Warn("processor: stopping; batch abandoned without acknowledgement (the bus delivers it again)",
				"records", b.records, "rows", b.cols.Len(), "err", err)
		} else {
			p.log.Info("processor: stopping; last batch stored and acknowledged")
		}
	}
	p.report(context.WithoutCancel(ctx), time.Now())
}

// report logs a progress line and records pipeline_metrics samples.
func (p *Processor) report(ctx context.Context, now time.Time) {
	s := &p.stats
	records := s.Records.Load()
	secs := now.Sub(p.lastReport).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(records-p.lastRecords) / secs
	}
	inserted, dead := s.Inserted.Load(), s.DeadLetters.Load()
	lag, pending := p.lag.Peak(), p.lag.Pending()
	p.lastReport, p.lastRecords = now, records
	p.log.Info("processor: progress",
		"records", records, "records_per_s", int64(rate), "rows_inserted", s.Inserted.Load(),
		"batches", s.Batches.Load(), "dead_letters", s.DeadLetters.Load(),
		"chain_problems", s.ChainProblems.Load(), "chain_duplicates", s.Duplicates.Load(),
		"chain_waiting", p.chains.Waiting(), "pending_requests", p.norm.Pairer().Pending(),
		"insert_retries", s.InsertRetries.Load(), "last_insert_ms", p.lastInsert.Milliseconds(),
		"bus_lag_ms", lag.Milliseconds(), "bus_pending", pending)
	m := func(name string, v float64) Metric {
		return Metric{TS: now, Component: "processor", Instance: p.cfg.Instance, Name: name, Value: v}
	}
	// rows_inserted and dead_letters are this period's counts (the
	// pipeline dashboard sums them per interval); the *_total samples are
	// the counts since the processor started. bus_lag_ms is the highest
	// wait on the bus of the newest record of a batch taken in the period
	// (0 when idle with no backlog); bus_pending is the backlog now.
	samples := []Metric{
		m("records_total", float64(records)),
		m("records_per_s", rate),
		m("rows_inserted_total", float64(inserted)),
		m("rows_inserted", float64(inserted-p.lastInserted)),
		m("batches_total", float64(s.Batches.Load())),
		m("dead_letters_total", float64(dead)),
		m("dead_letters", float64(dead-p.lastDead)),
		m("chain_problems_total", float64(s.ChainProblems.Load())),
		m("insert_retries_total", float64(s.InsertRetries.Load())),
		m("insert_ms", float64(p.lastInsert.Milliseconds())),
		m("chain_waiting", float64(p.chains.Waiting())),
		m("pending_requests", float64(p.norm.Pairer().Pending())),
		m("bus_lag_ms", float64(lag)/float64(time.Millisecond)),
		m("bus_pending", float64(pending)),
	}
	p.lastInserted, p.lastDead = inserted, dead
	mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.sink.InsertMetrics(mctx, samples); err != nil {
		p.log.Debug("processor: pipeline_metrics not recorded", "err", err)
	}
}

// backoff is the pause before attempt n (from 1): min doubled n-1 times,
// capped at max.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
