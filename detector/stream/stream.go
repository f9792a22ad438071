// Package stream runs the detector on the live bus: it consumes capture
// records in its own consumer group, feeds them to a detector.Engine,
// stores the findings and hands them to the alert outputs, and
// acknowledges the records only once their findings are stored.
package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/detector"
	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/schemas"
)

// FindingSink stores findings durably (the ClickHouse findings table).
type FindingSink interface {
	Insert(ctx context.Context, findings []detector.Finding) error
}

// Notifier hears every finding (the alert outputs).
type Notifier interface {
	Add(ctx context.Context, findings ...detector.Finding) error
}

// Config configures a Runner.
type Config struct {
	Engine   *detector.Engine
	Consumer bus.Consumer
	// Store, if set, gets each batch's findings before the batch is acked.
	Store FindingSink
	// Notify, if set, gets each batch's findings; its errors are logged,
	// since the findings are already stored.
	Notify Notifier
	// OnFinding, if set, hears every finding (e.g. to print it).
	OnFinding func(detector.Finding)
	// BatchSize bounds the records fetched at once (default 1,000).
	BatchSize int
	// MaxBackoff caps the wait between retries of a failed store
	// (default 30 s).
	MaxBackoff time.Duration
	Logger     *slog.Logger
}

// Stats counts what a Runner did.
type Stats struct {
	Records, Undecodable, Findings int64
	StoreRetries                   int64
	// Sessions is how many sessions the engine held after the last
	// batch.
	Sessions int64
	// SessionsEvicted is how many sessions the engine ended early because
	// it held its maximum (their state was dropped).
	SessionsEvicted int64
	// BusLag is how long the newest record of the latest batch had waited
	// on the bus, or 0 once the consumer is idle with no backlog; see
	// bus.Lag.
	BusLag time.Duration
	// BusPending is the backlog behind the records taken last.
	BusPending int64
}

// idleWait is how long Run waits for records before it takes the consumer
// for idle (for Stats.BusLag).
const idleWait = time.Second

// Runner is the live detector loop.
type Runner struct {
	cfg Config
	// The counters of Stats, atomic so that they may be read while Run
	// works (metrics).
	records, undecodable, findings, storeRetries, sessions atomic.Int64
	busLag, busLagPeak, busPending                         atomic.Int64
	lag                                                    bus.Lag // Run's
}

// New returns a Runner.
func New(cfg Config) (*Runner, error) {
	if cfg.Engine == nil || cfg.Consumer == nil {
		return nil, errors.New("stream: an engine and a consumer are required")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{cfg: cfg}, nil
}

// Stats returns the counters so far. It is safe to call while Run works.
func (r *Runner) Stats() Stats {
	return Stats{
		Records: r.records.Load(), Undecodable: r.undecodable.Load(), Findings: r.findings.Load(),
		StoreRetries: r.storeRetries.Load(), Sessions: r.sessions.Load(), SessionsEvicted: r.cfg.Engine.Evicted(),
		BusLag: time.Duration(r.busLag.Load()), BusPending: r.busPending.Load(),
	}
}

// Run consumes until ctx ends; it returns nil then, or the error that
// stopped it.
func (r *Runner) Run(ctx context.Context) error {
	var rec schemas.Record
	var batch []detector.Finding
	emit := func(f detector.Finding) {
		batch = append(batch, f)
		if r.cfg.OnFinding != nil {
			r.cfg.OnFinding(f)
		}
	}
	for {
		fctx, cancel := context.WithTimeout(ctx, idleWait)
		ds, err := r.cfg.Consumer.Fetch(fctx, r.cfg.BatchSize)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, context.DeadlineExceeded) {
			r.lag.Idle(time.Now())
			r.noteLag()
			continue
		}
		if err != nil {
			return fmt.Errorf("stream: fetch: %w", err)
		}
		r.lag.Observe(time.Now(), ds)
		r.noteLag()
		batch = batch[:0]
		r.records.Add(int64(len(ds)))
		for _, d := range ds {
			rec = schemas.Record{}
			if err := json.Unmarshal(d.Value, &rec); err != nil {
				// The processor dead-letters undecodable records; the
				// detector, in its own group, only counts them.
				r.undecodable.Add(1)
				continue
			}
			r.cfg.Engine.Observe(&rec, emit)
		}
		r.findings.Add(int64(len(batch)))
		r.sessions.Store(int64(r.cfg.Engine.Sessions()))
		if err := r.store(ctx, batch); err != nil {
			return nil // ctx ended while retrying: leave the batch unacked
		}
		if r.cfg.Notify != nil && len(batch) > 0 {
			if err := r.cfg.Notify.Add(ctx, batch...); err != nil {
				r.cfg.Logger.Warn("alert delivery failed; outputs retry later", "err", err)
			}
		}
		if err := r.cfg.Consumer.Ack(ctx, ds...); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("stream: ack %d records: %w", len(ds), err)
		}
	}
}

// PeakBusLag returns the highest Stats.BusLag since the last call (or the
// current one, when higher) and starts a new period: the lag sample of a
// period. It is safe to call while Run works.
func (r *Runner) PeakBusLag() time.Duration {
	return time.Duration(max(r.busLagPeak.Swap(0), r.busLag.Load()))
}

// noteLag publishes the bus lag and backlog for Stats and PeakBusLag.
func (r *Runner) noteLag() {
	lag := int64(r.lag.Lag())
	r.busLag.Store(lag)
	for peak := r.busLagPeak.Load(); lag > peak && !r.busLagPeak.CompareAndSwap(peak, lag); peak = r.busLagPeak.Load() {
	}
	r.busPending.Store(int64(r.lag.Pending()))
}

// store writes the findings, retrying with capped exponential backoff
// until it succeeds or ctx ends.
func (r *Runner) store(ctx context.Context, findings []detector.Finding) error {
	if r.cfg.Store == nil || len(findings) == 0 {
		return nil
	}
	wait := 250 * time.Millisecond
	for {
		err := r.cfg.Store.Insert(ctx, findings)
		if err == nil {
			return nil
		}
		r.storeRetries.Add(1)
		r.cfg.Logger.Warn("storing findings failed; retrying", "findings", len(findings), "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, r.cfg.MaxBackoff)
	}
}
