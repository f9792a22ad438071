package telemetry

import (
	"context"
	"errors"
	"sync/atomic"
)

// Check reports whether a component is ready: nil when it is, else an
// error that says why not. It runs on every /readyz request, with the
// request's context (bounded by ReadyTimeout).
type Check func(ctx context.Context) error

// Readiness is a component's readiness as it starts up: not ready, with a
// reason, until Ready hands it the check that decides from then on. It is
// safe for concurrent use; the zero Readiness is not ready ("starting").
type Readiness struct {
	state atomic.Pointer[readyState]
}

type readyState struct {
	reason string // not ready because of this, when check is nil
	check  Check
}

// NewReadiness returns a Readiness that is not ready because of reason
// (for example "connecting to ClickHouse").
func NewReadiness(reason string) *Readiness {
	r := &Readiness{}
	r.NotReady(reason)
	return r
}

// NotReady makes r not ready because of reason.
func (r *Readiness) NotReady(reason string) {
	r.state.Store(&readyState{reason: reason})
}

// Ready makes r ready while check passes; a nil check means ready.
func (r *Readiness) Ready(check Check) {
	if check == nil {
		check = func(context.Context) error { return nil }
	}
	r.state.Store(&readyState{check: check})
}

// Check runs the current check, or reports why r is not ready yet.
func (r *Readiness) Check(ctx context.Context) error {
	s := r.state.Load()
	if s == nil {
		return errors.New("starting")
	}
	if s.check == nil {
		return errors.New(s.reason)
	}
	return s.check(ctx)
}
