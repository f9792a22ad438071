package tap

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFrames(t *testing.T) {
	type want struct {
		data   string
		off    int64
		err    error // sentinel, or nil
		unterm bool
	}
	check := func(t *testing.T, in string, maxLine int, wants []want) {
		t.Helper()
		whole := collect(t, []byte(in), maxLine, nil)
		if d := diffFrames(whole, collect(t, []byte(in), maxLine, []int{1})); d != "" {
			t.Fatalf("byte-by-byte feed differs from whole feed: %s", d)
		}
		if d := diffFrames(whole, collect(t, []byte(in), maxLine, []int{3, 1, 7, 2})); d != "" {
			t.Fatalf("chunked feed differs from whole feed: %s", d)
		}
		if len(whole) != len(wants) {
			t.Fatalf("got %d frames %v, want %d", len(whole), whole, len(wants))
		}
		var frames []Frame
		tp, _ := New(Config{Handler: func(f Frame) { frames = append(frames, f) }, MaxLine: maxLine})
		tp.Write([]byte(in))
		tp.Close()
		for i, w := range wants {
			f := frames[i]
			if string(f.Data) != w.data || f.Offset != w.off || f.Unterminated != w.unterm {
				t.Errorf("frame %d = %v, want data %q offset %d unterminated %v", i, toGot(f), w.data, w.off, w.unterm)
			}
			if w.err == nil && f.Err != nil || w.err != nil && !errors.Is(f.Err, w.err) {
				t.Errorf("frame %d: Err = %v, want %v", i, f.Err, w.err)
			}
		}
	}
	const m = DefaultMaxLine
	cases := []struct {
		name    string
		in      string
		maxLine int
		want    []want
	}{
		{"one", `{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n", m,
			[]want{{data: `{"jsonrpc":"2.0","id":1,"method":"ping"}`}}},
		{"many", "{}\n[1,2]\n\"s\"\n", m,
			[]want{{data: "{}"}, {data: "[1,2]", off: 3}, {data: `"s"`, off: 9}}},
		{"crlf", "{}\r\n[]\r\n", m, []want{{data: "{}"}, {data: "[]", off: 4}}},
		{"empty and blank lines", "\n\r\n  \t\n{}\n\n", m, []want{{data: "{}", off: 7}}},
		{"not json", "hello\n{}\n", m, []want{{data: "hello", err: ErrNotJSON}, {data: "{}", off: 6}}},
		{"truncated json", `{"a":` + "\n", m, []want{{data: `{"a":`, err: ErrNotJSON}}},
		{"two values", "{} {}\n", m, []want{{data: "{} {}", err: ErrNotJSON}}},
		{"duplicate names are JSON", `{"a":1,"a":2}` + "\n", m, []want{{data: `{"a":1,"a":2}`}}},
		{"invalid utf8", "\"\xff\"\n", m, []want{{data: "\"\xff\"", err: ErrInvalidUTF8}}},
		{"bare CR is not a terminator", "{}\r{}\n", m, []want{{data: "{}\r{}", err: ErrNotJSON}}},
		{"unterminated tail", "{}\n[1]", m, []want{{data: "{}"}, {data: "[1]", off: 3, unterm: true}}},
		{"too long", "[1234]\n{}\n", 5, []want{{err: ErrTooLong}, {data: "{}", off: 7}}},
		{"exactly max", "[123]\n", 5, []want{{data: "[123]"}}},
		{"exactly max with CR", "[123]\r\n", 5, []want{{data: "[123]"}}},
		{"max plus one with CR", "[1234]\r\n{}\n", 5, []want{{err: ErrTooLong}, {data: "{}", off: 8}}},
		{"too long unterminated", "{}\n[1,2,3,4,5]", 5, []want{{data: "{}"}, {off: 3, err: ErrTooLong, unterm: true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, c.in, c.maxLine, c.want) })
	}
}

func TestTooLongReportsLength(t *testing.T) {
	in := "\"" + strings.Repeat("x", 100) + "\"\r\n{}\n"
	frames := collect(t, []byte(in), 10, []int{1})
	if len(frames) != 2 || frames[0].Len != 102 || frames[0].Data != "" {
		t.Fatalf("frames = %v, want a 102-byte too-long frame then {}", frames)
	}
}

func TestMatchesReference(t *testing.T) {
	inputs := []string{
		"", "\n", "{}", "{}\n", "a\nb\r\nc\r", "\r\n\r\n", "[1]\r\r\n", "x\n\xff\n",
		"{\"a\":[1,2,{\"b\":null}]}\n  {}  \n",
	}
	for _, in := range inputs {
		for _, maxLine := range []int{1, 2, 4, 100} {
			if d := diffFrames(reference([]byte(in), maxLine), collect(t, []byte(in), maxLine, []int{1})); d != "" {
				t.Errorf("%q max %d: reference vs tap: %s", in, maxLine, d)
			}
		}
	}
}

func TestSlowHandlerDropsFramesNotBytes(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var seen int
	tp, err := New(Config{
		Handler: func(Frame) {
			<-release
			mu.Lock()
			seen++
			mu.Unlock()
		},
		QueueLen: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(`{"jsonrpc":"2.0","method":"notifications/progress"}` + "\n")
	start := time.Now()
	const n = 1000
	for range n {
		if w, err := tp.Write(line); w != len(line) || err != nil {
			t.Fatalf("Write = %d, %v", w, err)
		}
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("writes took %v with a stuck handler", el)
	}
	close(release)
	tp.Close()
	s := tp.Stats()
	if s.Dropped == 0 || s.Frames+s.Dropped != n || int(s.Frames) != seen {
		t.Errorf("stats %+v, handler saw %d; want drops, frames+dropped = %d", s, seen, n)
	}
	if s.DroppedBytes != int64(s.Dropped)*int64(len(line)-1) || s.Bytes != int64(n*len(line)) {
		t.Errorf("stats %+v: byte counts are off", s)
	}
}

func TestQueueBytesBound(t *testing.T) {
	release := make(chan struct{})
	tp, _ := New(Config{Handler: func(Frame) { <-release }, MaxLine: 10, QueueLen: 100, QueueBytes: 20})
	for range 10 {
		tp.Write([]byte("[1,2,3,4]\n")) // 9 bytes kept per frame
	}
	close(release)
	tp.Close()
	// Frames count against QueueBytes until the handler returns, and the
	// handler is stuck on the first: only two 9-byte frames fit in 20.
	if s := tp.Stats(); s.Frames != 2 || s.Dropped != 8 {
		t.Errorf("stats %+v, want 2 frames and 8 dropped", s)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without a handler succeeded")
	}
	if _, err := New(Config{Handler: func(Frame) {}, MaxLine: -1}); err == nil {
		t.Error("New with a negative MaxLine succeeded")
	}
}

func TestWriteAfterCloseIgnored(t *testing.T) {
	var n int
	tp, _ := New(Config{Handler: func(Frame) { n++ }})
	tp.Write([]byte("{}\n"))
	tp.Close()
	if w, err := tp.Write([]byte("{}\n")); w != 3 || err != nil {
		t.Fatalf("Write after Close = %d, %v", w, err)
	}
	tp.Close()
	if n != 1 {
		t.Errorf("handler saw %d frames, want 1", n)
	}
}
