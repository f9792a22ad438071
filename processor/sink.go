package processor

import (
	"context"
	"time"
)

// Sink is where a Processor writes: the ClickHouse tables of the pipeline
// (processor/store implements it). Every method must be safe to retry: a
// failed call may or may not have stored its rows.
type Sink interface {
	// InsertEvents writes a batch of event rows. dedupToken identifies the
	// batch (see Token): a second insert with the same token is dropped.
	InsertEvents(ctx context.Context, cols *Columns, dedupToken string) error
	// InsertChainProblems records hash chain breaks, found at at.
	InsertChainProblems(ctx context.Context, at time.Time, ps []ChainReport) error
	// InsertDeadLetters records messages that were dead-lettered.
	InsertDeadLetters(ctx context.Context, ds []DeadLetter) error
	// InsertMetrics records pipeline health samples.
	InsertMetrics(ctx context.Context, ms []Metric) error
}

// DeadLetter is a bus message the processor could not turn into events.
type DeadLetter struct {
	At time.Time
	// Source names where it came from on the bus ("capture/3": the
	// capture topic's partition 3); Position is "partition/position".
	Source, Position string
	Reason           string
	Payload          []byte
}

// Metric is one pipeline health sample.
type Metric struct {
	TS                        time.Time
	Component, Instance, Name string
	Labels                    map[string]string
	Value                     float64
}
