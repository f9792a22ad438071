package tap

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"
)

// lateWriter delivers each write to w, then stalls before returning, like
// a relay goroutine descheduled right after its write reached the peer.
type lateWriter struct {
	w     io.Writer
	stall time.Duration
}

func (l lateWriter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	time.Sleep(l.stall)
	return n, err
}

// seen is a frame the handlers saw: its direction and JSON-RPC id.
type seen struct {
	request bool
	id      int
}

// idOf is the id of a test message, which puts it first.
func idOf(t *testing.T, data []byte) int {
	t.Helper()
	var id int
	if _, err := fmt.Sscanf(string(data), `{"id":%d`, &id); err != nil {
		t.Errorf("frame %q holds no id: %v", data, err)
	}
	return id
}

// TestSharedQueueKeepsRelayOrder relays a client and a server that answers
// each request at once, through two taps sharing a queue, and checks that
// the handlers always see request i before response i: when the request
// relay is slow to get back from its write, and when one direction's
// handler is slow.
func TestSharedQueueKeepsRelayOrder(t *testing.T) {
	const rounds = 300
	run := func(t *testing.T, stall, slowRequest, slowResponse time.Duration) {
		t.Helper()
		q, err := NewQueue(QueueConfig{Len: 4 * rounds})
		if err != nil {
			t.Fatal(err)
		}
		var order []seen // appended on the queue's goroutine only
		handler := func(request bool, slow time.Duration) Handler {
			return func(f Frame) {
				time.Sleep(slow)
				order = append(order, seen{request: request, id: idOf(t, f.Data)})
			}
		}
		c2s, err := New(Config{Handler: handler(true, slowRequest), Queue: q})
		if err != nil {
			t.Fatal(err)
		}
		s2c, err := New(Config{Handler: handler(false, slowResponse), Queue: q})
		if err != nil {
			t.Fatal(err)
		}

		clientIn, clientOut := io.Pipe() // client -> relay
		serverIn, toServer := io.Pipe()  // relay -> server
		fromServer, serverOut := io.Pipe()
		hostIn, toHost := io.Pipe() // relay -> client
		ctx := context.Background()
		go func() {
			_, err := Relay(ctx, lateWriter{w: toServer, stall: stall}, clientIn, c2s)
			toServer.CloseWithError(err)
		}()
		go func() { // the server answers each line as soon as it has read it
			in := bufio.NewReader(serverIn)
			for {
				l, err := in.ReadBytes('\n')
				if err != nil {
					serverOut.CloseWithError(err)
					return
				}
				id := idOf(t, l)
				if _, err := fmt.Fprintf(serverOut, `{"id":%d,"jsonrpc":"2.0","result":{}}`+"\n", id); err != nil {
					return
				}
			}
		}()
		relayed := make(chan error, 1)
		go func() {
			_, err := Relay(ctx, toHost, fromServer, s2c)
			toHost.CloseWithError(err)
			relayed <- err
		}()

		answers := bufio.NewReader(hostIn)
		for i := range rounds {
			if _, err := fmt.Fprintf(clientOut, `{"id":%d,"jsonrpc":"2.0","method":"ping"}`+"\n", i); err != nil {
				t.Fatal(err)
			}
			l, err := answers.ReadBytes('\n')
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			if got := idOf(t, l); got != i {
				t.Fatalf("round %d: answer %d", i, got)
			}
		}
		clientOut.Close()
		if err := <-relayed; err != nil {
			t.Fatal(err)
		}
		c2s.Close()
		s2c.Close()
		q.Close()

		if d := c2s.Dropped() + s2c.Dropped(); d != 0 {
			t.Fatalf("%d frames dropped with a queue of %d", d, 4*rounds)
		}
		if len(order) != 2*rounds {
			t.Fatalf("handlers saw %d frames, want %d", len(order), 2*rounds)
		}
		requested := map[int]bool{}
		for i, s := range order {
			switch {
			case s.request:
				requested[s.id] = true
			case !requested[s.id]:
				t.Fatalf("frame %d: response %d handled before its request", i, s.id)
			}
		}
	}
	cases := []struct {
		name                             string
		stall, slowRequest, slowResponse time.Duration
	}{
		{"relay slow after its write", 200 * time.Microsecond, 0, 0},
		{"slow request handler", 0, 200 * time.Microsecond, 0},
		{"slow response handler", 0, 0, 200 * time.Microsecond},
		{"no delays", 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { run(t, c.stall, c.slowRequest, c.slowResponse) })
	}
}

// TestSharedQueueWaits checks that closing one tap of a shared queue waits
// for that tap's frames, and that the queue serves the other tap after.
func TestSharedQueueWaits(t *testing.T) {
	q, err := NewQueue(QueueConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var a, b []string
	ta, _ := New(Config{Handler: func(f Frame) { time.Sleep(time.Millisecond); a = append(a, string(f.Data)) }, Queue: q})
	tb, _ := New(Config{Handler: func(f Frame) { b = append(b, string(f.Data)) }, Queue: q})
	for i := range 5 {
		ta.Write([]byte(strconv.Itoa(i) + "\n"))
	}
	ta.Write([]byte("[5]")) // unterminated: framed by Close
	ta.Close()
	if len(a) != 6 || a[5] != "[5]" {
		t.Fatalf("after Close the handler saw %q, want 0..4 and [5]", a)
	}
	tb.Write([]byte("{}\n"))
	tb.Close()
	if len(b) != 1 {
		t.Fatalf("second tap's handler saw %q after its Close", b)
	}
	q.Close()
	tb.Write([]byte("{}\n")) // after Close: ignored
	q.Close()
}

func TestClosedQueueDrops(t *testing.T) {
	q, _ := NewQueue(QueueConfig{})
	var n int
	tp, _ := New(Config{Handler: func(Frame) { n++ }, Queue: q})
	tp.Write([]byte("{}\n"))
	q.Close()
	tp.Write([]byte("[]\n"))
	tp.Close()
	if s := tp.Stats(); n != 1 || s.Frames != 1 || s.Dropped != 1 || s.DroppedBytes != 2 {
		t.Errorf("handler saw %d frames, stats %+v; want 1 handled and 1 dropped", n, s)
	}
}

func TestQueueConfigErrors(t *testing.T) {
	q, err := NewQueue(QueueConfig{Bytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	h := func(Frame) {}
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"own queue length", Config{Handler: h, Queue: q, MaxLine: 10, QueueLen: 5}},
		{"own queue bytes", Config{Handler: h, Queue: q, MaxLine: 10, QueueBytes: 50}},
		{"line longer than half the queue", Config{Handler: h, Queue: q, MaxLine: 51}},
	} {
		if _, err := New(c.cfg); err == nil {
			t.Errorf("%s: New succeeded", c.name)
		}
	}
	if _, err := New(Config{Handler: h, Queue: q, MaxLine: 50}); err != nil {
		t.Errorf("MaxLine of half the queue: %v", err)
	}
	if _, err := NewQueue(QueueConfig{Len: -1}); err == nil {
		t.Error("NewQueue with a negative Len succeeded")
	}
}
