package progress

import (
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestReporterQuietForShortWork(t *testing.T) {
	var b strings.Builder
	c := &fakeClock{t: time.Unix(0, 0)}
	r := newWithClock(&b, "validate", 1000, c.now)
	c.t = c.t.Add(time.Second)
	r.Update(500, 5)
	r.Done(1000, 10)
	if b.Len() != 0 {
		t.Errorf("printed for work shorter than the delay: %q", b.String())
	}
}

func TestReporterLines(t *testing.T) {
	var b strings.Builder
	c := &fakeClock{t: time.Unix(0, 0)}
	r := newWithClock(&b, "validate", 10e6, c.now)
	c.t = c.t.Add(Delay)
	r.Update(5e6, 100)
	c.t = c.t.Add(Interval / 2)
	r.Update(6e6, 120) // not due yet
	c.t = c.t.Add(Interval)
	r.Update(8e6, 160)
	r.Done(10e6, 200)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), b.String())
	}
	if !strings.Contains(lines[0], "5.0 MB of 10.0 MB (50%), 100 records, 2.5 MB/s") {
		t.Errorf("first line: %q", lines[0])
	}
	if !strings.HasSuffix(lines[2], "done") || !strings.Contains(lines[2], "(100%)") {
		t.Errorf("last line: %q", lines[2])
	}
}
