package sink

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/mcptrail/mcptrail/collector/spool"
	"github.com/mcptrail/mcptrail/internal/bus"
)

// BusOptions configure a bus sink.
type BusOptions struct {
	// Connect opens the bus; it is called again, with back-off, until it
	// succeeds, so the collector starts and spools while the bus is down.
	Connect func(ctx context.Context) (bus.Bus, error)
	// SpoolRoot holds the spools; this sink takes the first directory
	// Name-0, Name-1, … that no other collector holds, so a collector that
	// restarts picks up (and delivers) what an earlier one left behind.
	SpoolRoot string
	Name      string
	// SpoolMaxBytes bounds the spool; 0 means spool.DefaultMaxBytes.
	SpoolMaxBytes int64
	// Logger receives warnings; nil means slog.Default.
	Logger *slog.Logger
}

// maxSpoolDirs bounds how many spool directories a sink tries.
const maxSpoolDirs = 64

// Bus delivers capture lines to the bus. Every line is appended to a disk
// spool first (write-ahead), and a background loop publishes the spool in
// order and commits what the bus acknowledged. So records reach the bus in
// the order they were written, wait on disk while the bus is down, and
// survive a collector restart; when the spool is full, Write refuses the
// record at once.
type Bus struct {
	opts   BusOptions
	log    *slog.Logger
	sp     *spool.Spool
	cancel context.CancelFunc
	done   chan struct{}
	up     atomic.Bool

	published     atomic.Uint64
	publishErrors atomic.Uint64
	refused       atomic.Uint64
	connectErrors atomic.Uint64
}

// BusStats counts what a bus sink delivered since OpenBus.
type BusStats struct {
	// Published counts records the bus acknowledged. Delivery is at least
	// once: a record sent again after a failed publish or a reconnect
	// (the bus drops the copy by its id) counts again.
	Published uint64
	// PublishErrors counts publishes that failed: the bus was unreachable,
	// refused the record, or did not acknowledge it. The record stays in
	// the spool and is sent again, unless the bus refused it for good.
	PublishErrors uint64
	// Refused counts records dropped from the spool undelivered: the bus
	// refused them for good (too large), or their spool frame was damaged.
	Refused uint64
	// ConnectErrors counts failed attempts to connect to the bus or to
	// open a publisher on it.
	ConnectErrors uint64
}

// OpenBus opens the spool and starts delivering in the background.
func OpenBus(opts BusOptions) (*Bus, error) {
	if opts.Connect == nil {
		return nil, errors.New("sink: bus sink needs a way to connect")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	sp, err := openFreeSpool(opts, log)
	if err != nil {
		return nil, err
	}
	if rec := sp.Recovery(); rec.Records > 0 || rec.TornBytes > 0 {
		log.Info("sink: spool holds records from an earlier run; delivering them first",
			"dir", sp.Dir(), "records", rec.Records, "torn_bytes", rec.TornBytes)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Bus{opts: opts, log: log, sp: sp, cancel: cancel, done: make(chan struct{})}
	go s.run(ctx)
	return s, nil
}

func openFreeSpool(opts BusOptions, log *slog.Logger) (*spool.Spool, error) {
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == ' ' {
			return '_'
		}
		return r
	}, opts.Name)
	if name == "" || name == "." || name == ".." {
		name = "collector"
	}
	var lastErr error
	for i := range maxSpoolDirs {
		dir := filepath.Join(opts.SpoolRoot, name+"-"+strconv.Itoa(i))
		sp, err := spool.Open(dir, spool.Options{MaxBytes: opts.SpoolMaxBytes, Logger: log})
		if err == nil {
			return sp, nil
		}
		if !errors.Is(err, spool.ErrLocked) {
			return nil, fmt.Errorf("sink: %w", err)
		}
		lastErr = err
	}
	return nil, fmt.Errorf("sink: all %d spool directories under %s are in use: %w", maxSpoolDirs, opts.SpoolRoot, lastErr)
}

// Write appends the line to the spool; it fails at once when the spool is
// full.
func (s *Bus) Write(key string, line []byte) error {
	return s.sp.Append(frame(key, line))
}

// Spool returns the spool's counters.
func (s *Bus) Spool() spool.Stats { return s.sp.Stats() }

// Stats returns the delivery counters; it is safe to call while the sink
// runs.
func (s *Bus) Stats() BusStats {
	return BusStats{
		Published:     s.published.Load(),
		PublishErrors: s.publishErrors.Load(),
		Refused:       s.refused.Load(),
		ConnectErrors: s.connectErrors.Load(),
	}
}

// run connects (retrying with back-off) and drains the spool until Close.
func (s *Bus) run(ctx context.Context) {
	defer close(s.done)
	backoff := 500 * time.Millisecond
	for ctx.Err() == nil {
		b, err := s.opts.Connect(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.connectErrors.Add(1)
				s.log.Warn("sink: cannot reach the bus; capture records wait in the spool", "dir", s.sp.Dir(), "retry_in", backoff, "err", err)
			}
			sleep(ctx, backoff)
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff = 500 * time.Millisecond
		s.drain(ctx, b)
		_ = b.Close()
	}
}

// drain publishes the spool on b until ctx ends or publishing fails for
// good.
func (s *Bus) drain(ctx context.Context, b bus.Bus) {
	p, err := b.Publisher(ctx, bus.PublisherConfig{MaxPending: 1024})
	if err != nil {
		s.connectErrors.Add(1)
		s.log.Warn("sink: bus publisher", "err", err)
		sleep(ctx, time.Second)
		return
	}
	s.up.Store(true)
	defer s.up.Store(false)
	publish := func(ctx context.Context, rec []byte, done func(error)) error {
		key, line, err := unframe(rec)
		if err != nil {
			return err
		}
		// The line holds its unique chain value, so its hash is a stable
		// id: a record sent again after a lost acknowledgement is dropped
		// by buses that deduplicate.
		id := strconv.FormatUint(xxhash.Sum64(line), 16)
		err = p.Publish(ctx, bus.Message{Key: key, Value: line, ID: id}, func(err error) {
			if err != nil {
				s.publishErrors.Add(1)
			} else {
				s.published.Add(1)
			}
			done(err)
		})
		if err != nil && ctx.Err() == nil {
			s.publishErrors.Add(1)
		}
		return err
	}
	err = spool.Drain(ctx, s.sp, publish, spool.DrainOptions{
		MaxInFlight: 512,
		MaxBackoff:  5 * time.Second,
		Retryable: func(err error) bool {
			return !errors.Is(err, bus.ErrTooLarge) && !errors.Is(err, errBadFrame)
		},
		OnDrop: func(_ []byte, err error) {
			n := s.refused.Add(1)
			s.log.Warn("sink: the bus refused a capture record for good", "refused_total", n, "err", err)
		},
	})
	closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.Close(closeCtx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("sink: delivering the spool stopped; reconnecting", "err", err)
	}
}

// Close waits (until ctx ends) for the spool to be delivered, then stops.
// What is still spooled stays on disk for the next run.
func (s *Bus) Close(ctx context.Context) error {
	for s.sp.Stats().Records > 0 && s.up.Load() {
		if ctx.Err() != nil {
			break
		}
		sleep(ctx, 20*time.Millisecond)
	}
	left := s.sp.Stats().Records
	s.cancel()
	<-s.done
	if left > 0 {
		s.log.Warn("sink: capture records left in the spool for the next run", "dir", s.sp.Dir(), "records", left)
	}
	if err := s.sp.Close(); err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

var errBadFrame = errors.New("sink: damaged spool record")

// frame stores the key in front of the line: a 2-byte length, the key, the
// line.
func frame(key string, line []byte) []byte {
	key = key[:min(len(key), 0xffff)]
	b := make([]byte, 2+len(key)+len(line))
	binary.BigEndian.PutUint16(b, uint16(len(key)))
	copy(b[2:], key)
	copy(b[2+len(key):], line)
	return b
}

func unframe(rec []byte) (key, line []byte, err error) {
	if len(rec) < 2 {
		return nil, nil, errBadFrame
	}
	n := int(binary.BigEndian.Uint16(rec))
	if len(rec) < 2+n {
		return nil, nil, errBadFrame
	}
	return rec[2 : 2+n], rec[2+n:], nil
}
