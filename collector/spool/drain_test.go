package spool

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

var errUnavailable = errors.New("fake bus unavailable")

// fakeBus is a publisher that refuses records (synchronously, like
// bus.ErrUnavailable) on some calls, fails some acknowledgements, and acks
// the rest from other goroutines after a random delay.
type fakeBus struct {
	refuse  func(call int) bool // Publish returns errUnavailable
	failAck func(call int) bool // done gets an error
	async   bool

	mu        sync.Mutex
	calls     int
	published []string // accepted by Publish, in call order
	stored    []string // acknowledged with nil, in ack order
	want      int
	all       chan struct{} // closed once every record is stored
}

func (f *fakeBus) publish(ctx context.Context, rec []byte, done func(error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	call := f.calls
	if f.refuse != nil && f.refuse(call) {
		return errUnavailable
	}
	f.published = append(f.published, string(rec))
	ack := func() {
		var err error
		if f.failAck != nil && f.failAck(call) {
			err = errors.New("fake ack failure")
		}
		f.mu.Lock()
		if err == nil {
			f.stored = append(f.stored, string(rec))
			if len(uniq(f.stored)) == f.want && f.all != nil {
				close(f.all)
				f.all = nil
			}
		}
		f.mu.Unlock()
		done(err)
	}
	if f.async {
		go func() {
			time.Sleep(time.Duration(rand.N(200)) * time.Microsecond)
			ack()
		}()
	} else {
		go ack()
	}
	return nil
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var u []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			u = append(u, x)
		}
	}
	return u
}

func TestDrain(t *testing.T) {
	const n = 500
	for _, tc := range []struct {
		name     string
		bus      *fakeBus
		inFlight int
		dupsOK   bool // acknowledgement failures cause resends
		segBytes int64
	}{
		{"all acked, one in flight", &fakeBus{}, 1, false, 0},
		{"all acked, 64 in flight", &fakeBus{async: true}, 64, false, 1000},
		{"unavailable for a while", &fakeBus{async: true, refuse: func(c int) bool { return c < 20 || c >= 100 && c < 130 }}, 16, false, 1000},
		{"unavailable every 7th call", &fakeBus{async: true, refuse: func(c int) bool { return c%7 == 0 }}, 8, false, 0},
		{"acks fail", &fakeBus{async: true, failAck: func(c int) bool { return c%50 == 0 }}, 16, true, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := testOpen(t, dir, Options{SegmentBytes: tc.segBytes})
			appendRange(t, s, 0, n/2)
			fb := tc.bus
			fb.want, fb.all = n, make(chan struct{})
			all := fb.all

			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			retries := 0
			go func() {
				errc <- Drain(ctx, s, fb.publish, DrainOptions{
					MaxInFlight: tc.inFlight, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
					OnRetry: func(error, time.Duration) { retries++ },
				})
			}()
			appendRange(t, s, n/2, n) // while draining
			select {
			case <-all:
			case <-time.After(20 * time.Second):
				t.Fatal("timed out waiting for every record")
			}
			// Let the last commit land, then stop.
			deadline := time.Now().Add(5 * time.Second)
			for s.Stats().Records != 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("Drain returned %v", err)
			}
			if st := s.Stats(); st.Records != 0 || st.Bytes != 0 {
				t.Fatalf("not all committed: %+v", st)
			}
			fb.mu.Lock()
			defer fb.mu.Unlock()
			if (fb.refuse != nil || fb.failAck != nil) && retries == 0 {
				t.Error("OnRetry was never called")
			}
			checkRecords(t, uniq(fb.published), want(0, n))
			if !tc.dupsOK {
				checkRecords(t, fb.published, want(0, n))
			} else if len(fb.published) == n {
				t.Error("acknowledgement failures caused no resend")
			}
		})
	}
}

func TestDrainDropsNonRetryable(t *testing.T) {
	s := testOpen(t, t.TempDir(), Options{})
	appendRange(t, s, 0, 10)
	poison := rec(3)
	var dropped []string
	fb := &fakeBus{}
	publish := func(ctx context.Context, b []byte, done func(error)) error {
		if string(b) == poison {
			return errTooBig
		}
		return fb.publish(ctx, b, done)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := Drain(ctx, s, publish, DrainOptions{
		Retryable: func(err error) bool { return !errors.Is(err, errTooBig) },
		OnDrop:    func(b []byte, err error) { dropped = append(dropped, string(b)) },
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	checkRecords(t, dropped, []string{poison})
	fb.mu.Lock()
	checkRecords(t, fb.published, append(want(0, 3), want(4, 10)...))
	fb.mu.Unlock()
	if st := s.Stats(); st.Records != 0 {
		t.Fatalf("not all committed: %+v", st)
	}
}

var errTooBig = errors.New("too big")

func TestDrainRestartRedeliversUncommitted(t *testing.T) {
	// Acks never arrive: after Drain stops and the spool is reopened,
	// every record is delivered again, in order.
	dir := t.TempDir()
	s := testOpen(t, dir, Options{})
	appendRange(t, s, 0, 20)
	var got []string
	hold := func(ctx context.Context, b []byte, done func(error)) error {
		got = append(got, string(b))
		return nil // done never called
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := Drain(ctx, s, hold, DrainOptions{MaxInFlight: 8}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	checkRecords(t, got, want(0, 8))
	s.Close()
	s = testOpen(t, dir, Options{})
	got = nil
	pub := Synchronous(func(ctx context.Context, b []byte) error { got = append(got, string(b)); return nil })
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	Drain(ctx2, s, pub, DrainOptions{})
	checkRecords(t, got, want(0, 20))
}

func TestConcurrentAppendAndDrain(t *testing.T) {
	const n = 3000
	s := testOpen(t, t.TempDir(), Options{SegmentBytes: 4 << 10, MaxBytes: 64 << 10})
	fb := &fakeBus{async: true, refuse: func(c int) bool { return c%101 == 0 }, want: n, all: make(chan struct{})}
	all := fb.all
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- Drain(ctx, s, fb.publish, DrainOptions{MaxInFlight: 32, MinBackoff: time.Microsecond, MaxBackoff: time.Millisecond})
	}()
	statsDone := make(chan struct{})
	go func() { // a third goroutine reading stats
		defer close(statsDone)
		for ctx.Err() == nil {
			_ = s.Stats()
			time.Sleep(100 * time.Microsecond)
		}
	}()
	for i := 0; i < n; {
		err := s.Append([]byte(rec(i)))
		if errors.Is(err, ErrFull) {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		i++
	}
	select {
	case <-all:
	case <-time.After(30 * time.Second):
		t.Fatal("timed out")
	}
	cancel()
	<-errc
	<-statsDone
	fb.mu.Lock()
	defer fb.mu.Unlock()
	checkRecords(t, fb.published, want(0, n))
}
