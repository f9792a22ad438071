package detector

import "sync/atomic"

// engineStats are the Engine's counters that another goroutine may read
// while Observe runs (metrics).
type engineStats struct {
	// evicted counts the sessions ended early because the engine held
	// MaxSessions when a new one began.
	evicted atomic.Int64
}

// Evicted is the number of sessions ended before they went idle because
// the engine held Options.MaxSessions sessions when a new one began: their
// state (pending calls, passages, chains) was dropped, so detections that
// span a session may miss in them. Unlike Sessions, it is safe to call
// from any goroutine while Observe runs.
func (e *Engine) Evicted() int64 { return e.stats.evicted.Load() }
