package spool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// PublishFunc sends one record without waiting for it to be stored. It
// returns an error, and must not call done, when the record was not
// accepted (the drainer then retries it, in order, after a back-off). When
// it returns nil it must call done exactly once, from any goroutine, with
// nil once the record is stored or with the reason it was not.
//
// It matches bus.Publisher.Publish; the collector wires it as
//
//	publish := func(ctx context.Context, rec []byte, done func(error)) error {
//		return pub.Publish(ctx, bus.Message{Key: sessionOf(rec), Value: rec}, done)
//	}
//	err := spool.Drain(ctx, sp, publish, spool.DrainOptions{
//		// A record the bus will never take must not block the spool.
//		Retryable: func(err error) bool { return !errors.Is(err, bus.ErrTooLarge) },
//		OnDrop:    func(rec []byte, err error) { /* count, log */ },
//	})
//
// Publish returns bus.ErrUnavailable at once while the bus is down: Drain
// backs off and retries the same record. A failure reported through done
// makes Drain rewind to the first unacknowledged record and send it and
// everything after it again (the bus dedups downstream).
type PublishFunc func(ctx context.Context, rec []byte, done func(error)) error

// Synchronous adapts a blocking publish function (nil once the record is
// stored) to a PublishFunc; Drain then has one record in flight.
func Synchronous(publish func(ctx context.Context, rec []byte) error) PublishFunc {
	return func(ctx context.Context, rec []byte, done func(error)) error {
		if err := publish(ctx, rec); err != nil {
			return err
		}
		done(nil)
		return nil
	}
}

// DrainOptions tune Drain; zero fields take the defaults.
type DrainOptions struct {
	// MaxInFlight bounds records published and not yet acknowledged
	// (default 256).
	MaxInFlight int
	// MinBackoff and MaxBackoff bound the exponential, jittered wait
	// after a failed publish (defaults 50 ms and 5 s).
	MinBackoff, MaxBackoff time.Duration
	// Retryable says whether a publish error is worth retrying; when it
	// returns false the record is dropped (committed) and OnDrop called.
	// The default retries every error.
	Retryable func(error) bool
	// OnDrop is called for each record dropped as not retryable.
	OnDrop func(rec []byte, err error)
	// OnRetry is called after a failed publish, before the wait.
	OnRetry func(err error, wait time.Duration)
}

func (o *DrainOptions) setDefaults() {
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 256
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 50 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.Retryable == nil {
		o.Retryable = func(error) bool { return true }
	}
}

// flight is a published record awaiting its acknowledgement.
type flight struct {
	pos  Position
	data []byte // kept only to report a drop
	done bool
	err  error
}

type ack struct {
	f   *flight
	gen uint64
	err error
}

// Drain publishes the spooled records in order until ctx ends, waiting for
// new ones when the spool is empty. At most MaxInFlight records are
// unacknowledged at a time; only the longest acknowledged prefix is
// committed, so a record whose publish fails holds back the commit of the
// records after it and is sent again, with them, after a back-off. It
// returns ctx's error, or the spool's error when reading or committing
// fails. Acknowledgements still outstanding when it returns are not
// committed: those records are delivered again by the next Drain, even
// after a restart.
//
// Drain must be the spool's only reader.
func Drain(ctx context.Context, s *Spool, publish PublishFunc, opts DrainOptions) error {
	opts.setDefaults()
	acks := make(chan ack, opts.MaxInFlight) // never full: see outstanding
	var (
		window      []*flight // published, in order, since the last commit or rewind
		gen         uint64    // bumped by a rewind; older acks are ignored
		outstanding int       // acks not yet received, across generations
		failures    int       // consecutive failures, for the back-off
		wakeAt      time.Time // no publishing before this
		timer       *time.Timer
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	handle := func(a ack) {
		outstanding--
		if a.gen != gen {
			return
		}
		a.f.done, a.f.err = true, a.err
		if a.err == nil {
			failures = 0
		}
	}
	backoff := func(err error) {
		failures++
		d := opts.MinBackoff << min(failures-1, 20)
		if d > opts.MaxBackoff || d <= 0 {
			d = opts.MaxBackoff
		}
		d = d/2 + rand.N(d/2+1) // jitter
		wakeAt = time.Now().Add(d)
		if opts.OnRetry != nil {
			opts.OnRetry(err, d)
		}
	}
	s.Rewind()
	for {
		// Take the acknowledgements that are there.
		for more := true; more; {
			select {
			case a := <-acks:
				handle(a)
			default:
				more = false
			}
		}
		// Commit the acknowledged prefix; handle a failed head.
		var last *Position
		for len(window) > 0 && window[0].done {
			f := window[0]
			if f.err != nil {
				if opts.Retryable(f.err) {
					break
				}
				if opts.OnDrop != nil {
					opts.OnDrop(f.data, f.err)
				}
			}
			last = &f.pos
			window[0] = nil
			window = window[1:]
		}
		if last != nil {
			if err := s.Commit(*last); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(window) > 0 && window[0].done { // failed, retryable
			err := window[0].err
			window, gen = nil, gen+1
			s.Rewind()
			backoff(err)
		}

		canPublish := outstanding < opts.MaxInFlight && !time.Now().Before(wakeAt)
		if canPublish {
			rec, err := s.Peek()
			switch {
			case err == nil:
				f := &flight{pos: rec.Pos}
				if opts.OnDrop != nil {
					f.data = rec.Data
				}
				g := gen
				perr := publish(ctx, rec.Data, func(err error) { acks <- ack{f, g, err} })
				if perr != nil {
					if ctx.Err() != nil {
						continue
					}
					if opts.Retryable(perr) {
						backoff(perr)
						continue
					}
					f.done, f.err = true, perr // dropped: commit it in order
				} else {
					outstanding++
				}
				if _, err := s.Next(); err != nil {
					return err
				}
				window = append(window, f)
				continue
			case !errors.Is(err, ErrEmpty):
				return err
			}
		}

		// Wait for an acknowledgement, a new record, the back-off or ctx.
		var ready <-chan struct{}
		if canPublish {
			ready = s.notify
		}
		var wake <-chan time.Time
		if d := time.Until(wakeAt); d > 0 {
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			wake = timer.C
		}
		select {
		case a := <-acks:
			handle(a)
		case <-ready:
		case <-wake:
		case <-s.closing:
			return fmt.Errorf("spool %s: drain: %w", s.dir, ErrClosed)
		case <-ctx.Done():
		}
	}
}
