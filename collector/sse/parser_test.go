package sse

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	check := func(t *testing.T, in string, maxEvent int, want []Event, wantIncomplete bool) {
		t.Helper()
		whole := parse(t, []byte(in), maxEvent)
		for _, chunks := range [][]int{{1}, {2}, {3, 1, 5}} {
			if d := diff(whole, parse(t, []byte(in), maxEvent, chunks...)); d != "" {
				t.Fatalf("feed in chunks %v differs from whole feed: %s", chunks, d)
			}
		}
		if (whole.closeErr != "") != wantIncomplete {
			t.Errorf("Close error %q, want incomplete %v", whole.closeErr, wantIncomplete)
		}
		if len(whole.events) != len(want) {
			t.Fatalf("got %d events %+v, want %d", len(whole.events), whole.events, len(want))
		}
		for i, w := range want {
			g := whole.events[i]
			if g.Type != w.Type || g.ID != w.ID || g.Data != string(w.Data) || g.Retry != w.Retry {
				t.Errorf("event %d = %+v, want %+v", i, g, toGot(w))
			}
			if (w.Err != nil) != (g.Err != "") {
				t.Errorf("event %d: err %q, want %v", i, g.Err, w.Err)
			}
		}
	}
	ev := func(typ, id, data string) Event { return Event{Type: typ, ID: id, Data: []byte(data)} }
	const m = DefaultMaxEvent
	cases := []struct {
		name       string
		in         string
		max        int
		want       []Event
		incomplete bool
	}{
		{"simple", "data: {\"jsonrpc\":\"2.0\"}\n\n", m, []Event{ev("message", "", `{"jsonrpc":"2.0"}`)}, false},
		{"type and id", "event: endpoint\nid: 7\ndata: /messages?s=1\n\n", m, []Event{ev("endpoint", "7", "/messages?s=1")}, false},
		{"multi-line data", "data: a\ndata:b\ndata:  c\n\n", m, []Event{ev("message", "", "a\nb\n c")}, false},
		{"CRLF", "data: a\r\ndata: b\r\n\r\n", m, []Event{ev("message", "", "a\nb")}, false},
		{"CR", "data: a\rdata: b\r\r", m, []Event{ev("message", "", "a\nb")}, false},
		{"mixed endings", "data: a\r\n\rdata: b\n\r\n", m, []Event{ev("message", "", "a"), ev("message", "", "b")}, false},
		{"BOM", "\xEF\xBB\xBFdata: x\n\n", m, []Event{ev("message", "", "x")}, false},
		{"second BOM is data", "\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n", m, nil, false},
		{"partial BOM", "\xEF\xBBdata: x\n\n", m, nil, false},
		{"comments", ": ping\n:\ndata: x\n: more\n\n", m, []Event{ev("message", "", "x")}, false},
		{"data without value", "data\n\n", m, []Event{ev("message", "", "")}, false},
		{"empty data priming event", "id: 42\ndata:\n\n", m, []Event{ev("message", "42", "")}, false},
		{"two empty data", "data\ndata\n\n", m, []Event{ev("message", "", "\n")}, false},
		{"no data no event", "event: x\nid: 1\n\ndata: y\n\n", m, []Event{ev("message", "1", "y")}, false},
		{"id carries over", "id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", m,
			[]Event{ev("message", "1", "a"), ev("message", "1", "b"), ev("message", "", "c")}, false},
		{"id with NUL ignored", "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n", m,
			[]Event{ev("message", "1", "a"), ev("message", "1", "b")}, false},
		{"field without colon", "event\ndata: a\n\n", m, []Event{ev("message", "", "a")}, false},
		{"unknown field", "foo: bar\ndata: a\n\n", m, []Event{ev("message", "", "a")}, false},
		{"space kept after first", "data:  two\n\n", m, []Event{ev("message", "", " two")}, false},
		{"colon in value", "data: a:b\n\n", m, []Event{ev("message", "", "a:b")}, false},
		{"incomplete event dropped", "data: a\n\ndata: b\n", m, []Event{ev("message", "", "a")}, true},
		{"unterminated line dropped", "data: a\n\ndata: b", m, []Event{ev("message", "", "a")}, true},
		{"type resets", "event: x\ndata: a\n\ndata: b\n\n", m, []Event{ev("x", "", "a"), ev("message", "", "b")}, false},
		{"oversized", "data: 12345\ndata: 6\n\ndata: ok\n\n", 6, []Event{{Type: "message", Err: ErrEventTooLarge}, ev("message", "", "ok")}, false},
		{"exactly max", "data: 12\ndata: 345\n\n", 6, []Event{ev("message", "", "12\n345")}, false},
		{"oversized line", "data: " + strings.Repeat("z", 100) + "\n\ndata: ok\n\n", 6,
			[]Event{{Type: "message", Err: ErrEventTooLarge}, ev("message", "", "ok")}, false},
		{"long comment is fine", ":" + strings.Repeat("z", 100) + "\ndata: ok\n\n", 6, []Event{ev("message", "", "ok")}, false},
		{"long unknown field is fine", strings.Repeat("z", 100) + "\nzz: " + strings.Repeat("z", 100) + "\ndata: ok\n\n", 6,
			[]Event{ev("message", "", "ok")}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, c.in, c.max, c.want, c.incomplete) })
	}
}

func TestRetry(t *testing.T) {
	r := parse(t, []byte("retry: 1500\ndata: a\n\nretry: x\ndata: b\n\nretry: 10\n\n"), 0)
	if len(r.events) != 2 || r.events[0].Retry != 1500*time.Millisecond || r.events[1].Retry != 0 {
		t.Fatalf("events %+v", r.events)
	}
	if r.retry != 10*time.Millisecond {
		t.Errorf("Retry() = %v, want 10ms", r.retry)
	}
	if r = parse(t, []byte("retry: 99999999999999999999\n\n"), 0); r.retry != 0 {
		t.Errorf("overflowing retry set Retry() = %v", r.retry)
	}
}

func TestOversizedReport(t *testing.T) {
	var evs []Event
	p, _ := New(func(e Event) { evs = append(evs, e) }, Options{MaxEvent: 10})
	p.Write([]byte("event: big\nid: 9\ndata: " + strings.Repeat("q", 50) + "\ndata: x\n\n"))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || !errors.Is(evs[0].Err, ErrEventTooLarge) || evs[0].Data != nil ||
		evs[0].Size != 52 || evs[0].Type != "big" || evs[0].ID != "9" {
		t.Fatalf("events %+v", evs)
	}
}

func TestMatchesReference(t *testing.T) {
	inputs := []string{
		"", "\n", "\r\r\n", "data\r\r", "data:\n\ndata: \n\n", ":\n", "id:\x00\n\n",
		"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n", "event:e\rdata:1\r\ndata:2\n\nid: q\ndata\n\n",
		"retry: 5\nretry:+5\nretry: 0x\ndata: r\n\n",
	}
	for _, in := range inputs {
		evs, id, retry := reference([]byte(in))
		r := parse(t, []byte(in), 0, 1)
		if d := diff(result{events: evs, lastID: id, retry: retry, closeErr: r.closeErr}, r); d != "" {
			t.Errorf("%q: reference vs parser: %s", in, d)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New with nil handler succeeded")
	}
	if _, err := New(func(Event) {}, Options{MaxEvent: -1}); err == nil {
		t.Error("New with negative MaxEvent succeeded")
	}
}
