// Package progress prints progress of long work to a terminal or log: one
// line per interval, and only once the work has run longer than a delay, so
// short runs stay quiet.
package progress

import (
	"fmt"
	"io"
	"time"
)

// Reporter prints progress lines for work measured in bytes and records.
// It is not safe for concurrent use; call Update from the working loop.
type Reporter struct {
	w        io.Writer
	label    string
	total    int64 // total bytes, or 0 when unknown (a pipe)
	start    time.Time
	next     time.Time
	interval time.Duration
	printed  bool
	now      func() time.Time
}

// Defaults: the first line after Delay, then one every Interval.
const (
	Delay    = 2 * time.Second
	Interval = 2 * time.Second
)

// New returns a Reporter writing to w. total is the expected number of
// bytes, or 0 when unknown.
func New(w io.Writer, label string, total int64) *Reporter {
	return newWithClock(w, label, total, time.Now)
}

func newWithClock(w io.Writer, label string, total int64, now func() time.Time) *Reporter {
	start := now()
	return &Reporter{w: w, label: label, total: total, start: start, next: start.Add(Delay), interval: Interval, now: now}
}

// Update reports that bytes of input and records are done. It prints only
// when a line is due, so it is cheap to call often.
func (r *Reporter) Update(bytes, records int64) {
	if r == nil || r.w == nil {
		return
	}
	now := r.now()
	if now.Before(r.next) {
		return
	}
	r.next = now.Add(r.interval)
	r.print(now, bytes, records, false)
}

// Done prints a final line if any progress line was printed before.
func (r *Reporter) Done(bytes, records int64) {
	if r == nil || r.w == nil || !r.printed {
		return
	}
	r.print(r.now(), bytes, records, true)
}

func (r *Reporter) print(now time.Time, bytes, records int64, done bool) {
	r.printed = true
	elapsed := now.Sub(r.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(bytes) / elapsed / 1e6
	}
	state := "…"
	if done {
		state = "done"
	}
	pct := ""
	if r.total > 0 {
		pct = fmt.Sprintf(" of %.1f MB (%.0f%%)", float64(r.total)/1e6, 100*float64(bytes)/float64(r.total))
	}
	fmt.Fprintf(r.w, "%s: %.1f MB%s, %d records, %.1f MB/s, %s %s\n",
		r.label, float64(bytes)/1e6, pct, records, rate, time.Duration(elapsed*float64(time.Second)).Round(time.Second), state)
}
