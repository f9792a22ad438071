package alert

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/detector"
)

// t0 is the fixed start of the tests' clocks and finding times.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recorder is an Output that keeps what it is sent and can be made to fail.
type recorder struct {
	name    string
	refresh time.Duration // > 0: also a Refresher (see refresher)
	mu      sync.Mutex
	sends   [][]Alert
	fail    bool
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Send(_ context.Context, alerts []Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("down")
	}
	r.sends = append(r.sends, alerts)
	return nil
}

// all returns every alert sent, flattened.
func (r *recorder) all() []Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Alert
	for _, s := range r.sends {
		out = append(out, s...)
	}
	return out
}

// refresher is a recorder that asks for refreshes.
type refresher struct{ *recorder }

func (r refresher) RefreshInterval() time.Duration { return r.refresh }

// finding returns a finding of rule on session at t0+offset.
func finding(session, rule string, sev detector.Severity, offset time.Duration, calls ...string) detector.Finding {
	return detector.Finding{
		ID:       detector.FindingID(rule, session, "", calls),
		TS:       t0.Add(offset),
		Session:  session,
		Rule:     rule,
		Severity: sev,
		Title:    rule + " in " + session,
		CallIDs:  calls,
		Host:     "laptop-7",
		Server:   "filesystem",
		Client:   "claude-code",
	}
}

// newTestNotifier returns a Notifier on a test clock with outputs.
func newTestNotifier(t *testing.T, mod func(*Config), outputs ...Output) (*Notifier, *clock) {
	t.Helper()
	c := &clock{now: t0}
	cfg := DefaultConfig()
	cfg.Outputs = outputs
	cfg.Now = c.Now
	if mod != nil {
		mod(&cfg)
	}
	n, err := NewNotifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n, c
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
