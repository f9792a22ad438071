package sink

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsbus"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
)

func TestFrame(t *testing.T) {
	k, l, err := unframe(frame("session-1", []byte(`{"x":1}`)))
	if err != nil || string(k) != "session-1" || string(l) != `{"x":1}` {
		t.Fatalf("round trip: %q %q %v", k, l, err)
	}
	for _, bad := range [][]byte{nil, {0}, {0, 9, 'a'}} {
		if _, _, err := unframe(bad); err == nil {
			t.Errorf("unframe(%v) accepted a damaged record", bad)
		}
	}
}

// natsFixture is a real NATS JetStream server that the test can stop and
// start again on the same port and store.
type natsFixture struct {
	t    *testing.T
	dir  string
	port int
	srv  *natsserver.Server
}

func (f *natsFixture) start() {
	f.t.Helper()
	srv, err := natsserver.Start(context.Background(), natsserver.Config{DataDir: f.dir, Port: f.port})
	if err != nil {
		f.t.Fatal(err)
	}
	f.srv = srv
	_, port, _ := strings.Cut(srv.Addr(), ":")
	f.port, _ = strconv.Atoi(port)
}

func (f *natsFixture) stop() { f.srv.Shutdown(); f.srv = nil }

func (f *natsFixture) connect(ctx context.Context) (bus.Bus, error) {
	return natsbus.Open(ctx, bus.Config{Servers: []string{fmt.Sprintf("127.0.0.1:%d", f.port)}, Topic: "sinktest", Partitions: 4})
}

func writeRange(t *testing.T, s *Bus, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if err := s.Write(fmt.Sprintf("session-%d", i%7), []byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
}

func waitEmpty(t *testing.T, s *Bus) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); s.Spool().Records > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("spool still holds %d records", s.Spool().Records)
		}
	}
}

// TestBusSinkOutageAndRestart takes the bus away mid-run, restarts the
// collector's sink while it is away, brings it back, and checks that every
// record arrives once, each session's records in order.
func TestBusSinkOutageAndRestart(t *testing.T) {
	nf := &natsFixture{t: t, dir: t.TempDir()}
	nf.start()
	defer func() {
		if nf.srv != nil {
			nf.stop()
		}
	}()
	root := t.TempDir()
	open := func() *Bus {
		s, err := OpenBus(BusOptions{Connect: nf.connect, SpoolRoot: root, Name: "everything"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	writeRange(t, s, 1, 1000)
	waitEmpty(t, s)

	nf.stop() // the bus goes away mid-run
	writeRange(t, s, 1001, 2000)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = s.Close(ctx) // the collector restarts with records spooled
	cancel()

	s = open()
	if got := s.Spool().Records; got < 1000 {
		t.Fatalf("the restarted sink found %d spooled records, want the 1000 written while the bus was down", got)
	}
	writeRange(t, s, 2001, 3000)
	nf.start() // the bus comes back
	waitEmpty(t, s)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	b, err := nf.connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := b.Consumer(context.Background(), bus.ConsumerConfig{Group: "check"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen := map[int]int{}
	last := map[string]int{}
	for len(seen) < 3000 {
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ds, err := c.Fetch(fctx, 1000)
		cancel()
		if err != nil {
			t.Fatalf("after %d records: %v", len(seen), err)
		}
		for _, d := range ds {
			var n int
			if _, err := fmt.Sscanf(string(d.Value), `{"n":%d}`, &n); err != nil {
				t.Fatalf("record %q: %v", d.Value, err)
			}
			seen[n]++
			if n <= last[string(d.Key)] {
				t.Fatalf("session %s: record %d after %d", d.Key, n, last[string(d.Key)])
			}
			last[string(d.Key)] = n
		}
		_ = c.Ack(context.Background(), ds...)
	}
	for n := 1; n <= 3000; n++ {
		if seen[n] != 1 {
			t.Fatalf("record %d arrived %d times", n, seen[n])
		}
	}
}

// TestBusSinkFull: when the spool is full, Write refuses at once.
func TestBusSinkFull(t *testing.T) {
	never := func(ctx context.Context) (bus.Bus, error) { return nil, fmt.Errorf("no bus here") }
	s, err := OpenBus(BusOptions{Connect: never, SpoolRoot: t.TempDir(), Name: "x", SpoolMaxBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	line := []byte(`{"pad":"` + strings.Repeat("p", 1000) + `"}`)
	var full error
	start := time.Now()
	for i := 0; i < 200 && full == nil; i++ {
		full = s.Write("k", line)
	}
	if full == nil || !strings.Contains(full.Error(), "spool full") {
		t.Fatalf("spool never refused a record: %v", full)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("writes blocked for %v", time.Since(start))
	}
}

// TestBusSinkSpoolDirs: two sinks with the same name use two spool dirs.
func TestBusSinkSpoolDirs(t *testing.T) {
	never := func(ctx context.Context) (bus.Bus, error) { return nil, fmt.Errorf("no bus here") }
	root := t.TempDir()
	a, err := OpenBus(BusOptions{Connect: never, SpoolRoot: root, Name: "fs"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	b, err := OpenBus(BusOptions{Connect: never, SpoolRoot: root, Name: "fs"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	if a.sp.Dir() == b.sp.Dir() || !strings.HasSuffix(a.sp.Dir(), "fs-0") || !strings.HasSuffix(b.sp.Dir(), "fs-1") {
		t.Errorf("spool dirs %s and %s", a.sp.Dir(), b.sp.Dir())
	}
}

// TestBusSinkStats: Stats counts each record the bus acknowledged once,
// and a record the bus refuses for good (too large) as a publish error
// and a refusal; a sink that cannot reach the bus counts connect errors.
func TestBusSinkStats(t *testing.T) {
	nf := &natsFixture{t: t, dir: t.TempDir()}
	nf.start()
	defer nf.stop()
	const maxRecord = 4 << 10
	connect := func(ctx context.Context) (bus.Bus, error) {
		return natsbus.Open(ctx, bus.Config{Servers: []string{fmt.Sprintf("127.0.0.1:%d", nf.port)}, Topic: "stats", Partitions: 2, MaxRecordBytes: maxRecord})
	}
	s, err := OpenBus(BusOptions{Connect: connect, SpoolRoot: t.TempDir(), Name: "stats"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	writeRange(t, s, 1, 50)
	if err := s.Write("session-big", []byte(`{"pad":"`+strings.Repeat("p", 2*maxRecord)+`"}`)); err != nil {
		t.Fatal(err)
	}
	writeRange(t, s, 51, 100)
	waitEmpty(t, s)
	if got, want := s.Stats(), (BusStats{Published: 100, PublishErrors: 1, Refused: 1}); got != want {
		t.Errorf("bus up: stats %+v, want %+v", got, want)
	}

	never := func(ctx context.Context) (bus.Bus, error) { return nil, fmt.Errorf("no bus here") }
	down, err := OpenBus(BusOptions{Connect: never, SpoolRoot: t.TempDir(), Name: "down"})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close(context.Background())
	for deadline := time.Now().Add(10 * time.Second); down.Stats().ConnectErrors == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no connect error counted")
		}
	}
	if st := down.Stats(); st.Published != 0 || st.PublishErrors != 0 || st.Refused != 0 {
		t.Errorf("bus unreachable: stats %+v, want only connect errors", st)
	}
}
