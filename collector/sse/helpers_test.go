package sse

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// got is an event in a comparable form.
type got struct {
	Type, ID, Data string
	NilData        bool
	Retry          time.Duration
	Size           int64
	Err            string
}

func toGot(e Event) got {
	g := got{Type: e.Type, ID: e.ID, Data: string(e.Data), NilData: e.Data == nil, Retry: e.Retry, Size: e.Size}
	if e.Err != nil {
		g.Err = e.Err.Error()
	}
	return g
}

// result is everything a parse produces.
type result struct {
	events   []got
	closeErr string
	lastID   string
	retry    time.Duration
}

// parse feeds in to a fresh parser in chunks of the given sizes (cycled;
// none means all at once).
func parse(t testing.TB, in []byte, maxEvent int, chunks ...int) result {
	t.Helper()
	var r result
	p, err := New(func(e Event) { r.events = append(r.events, toGot(e)) }, Options{MaxEvent: maxEvent})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := 0, in; len(b) > 0; i++ {
		n := len(b)
		if len(chunks) > 0 {
			n = min(max(chunks[i%len(chunks)], 1), len(b))
		}
		if w, err := p.Write(b[:n]); w != n || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", w, err, n)
		}
		b = b[n:]
	}
	r.lastID, r.retry = p.LastEventID(), p.Retry()
	if err := p.Close(); err != nil {
		r.closeErr = err.Error()
	}
	return r
}

func diff(a, b result) string {
	if a.closeErr != b.closeErr || a.lastID != b.lastID || a.retry != b.retry {
		return fmt.Sprintf("close %q id %q retry %v vs close %q id %q retry %v",
			a.closeErr, a.lastID, a.retry, b.closeErr, b.lastID, b.retry)
	}
	if len(a.events) != len(b.events) {
		return fmt.Sprintf("%d events vs %d:\n%+v\n%+v", len(a.events), len(b.events), a.events, b.events)
	}
	for i := range a.events {
		if a.events[i] != b.events[i] {
			return fmt.Sprintf("event %d: %+v vs %+v", i, a.events[i], b.events[i])
		}
	}
	return ""
}

// reference interprets a whole stream the plain way, straight from the
// spec's steps, without size limits. It returns the events, the last
// event ID and the reconnection time.
func reference(in []byte) ([]got, string, time.Duration) {
	in = bytes.TrimPrefix(in, []byte("\xEF\xBB\xBF"))
	var lines [][]byte
	for start, i := 0, 0; i < len(in); i++ {
		switch in[i] {
		case '\n':
			lines = append(lines, in[start:i])
			start = i + 1
		case '\r':
			lines = append(lines, in[start:i])
			if i+1 < len(in) && in[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	var events []got
	var data, evType, lastID string
	var retry, evRetry time.Duration
	for _, l := range lines {
		if len(l) == 0 {
			if data != "" {
				t := evType
				if t == "" {
					t = "message"
				}
				d := data[:len(data)-1]
				events = append(events, got{Type: t, ID: lastID, Data: d, Retry: evRetry, Size: int64(len(d))})
			}
			data, evType, evRetry = "", "", 0
			continue
		}
		if l[0] == ':' {
			continue
		}
		name, value := string(l), ""
		if i := bytes.IndexByte(l, ':'); i >= 0 {
			name, value = string(l[:i]), string(l[i+1:])
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch name {
		case "event":
			evType = value
		case "data":
			data += value + "\n"
		case "id":
			if !bytes.Contains([]byte(value), []byte{0}) {
				lastID = value
			}
		case "retry":
			if ms, err := strconv.ParseUint(value, 10, 63); err == nil && value != "" && value[0] != '+' &&
				ms <= uint64(1<<63-1)/uint64(time.Millisecond) {
				retry = time.Duration(ms) * time.Millisecond
				evRetry = retry
			}
		}
	}
	return events, lastID, retry
}
