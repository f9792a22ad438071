package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/busurl"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
	"github.com/mcptrail/mcptrail/internal/chdbtest"
	"github.com/mcptrail/mcptrail/processor"
	"github.com/mcptrail/mcptrail/processor/store"
	"github.com/mcptrail/mcptrail/schemas"
	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

const devPath = "../../../shared/datasets/agentdojo-dev/agentdojo-dev.capture.jsonl"

// replayTimeout bounds one replay; the benchmark fails past it.
const replayTimeout = 5 * time.Minute

// batchWait is the processor's --batch-wait here: the last, partial batch
// of a replay is inserted this long after its first record. The default
// (1 s) would be counted as idle time at the end of every replay.
const batchWait = 100 * time.Millisecond

// BenchmarkReplay publishes the dev data set to an embedded NATS JetStream
// and runs the processor on it at the same time, as `mcptrail process`
// does: records/s is from the first record published to the last one
// stored and acknowledged; published-records/s is the publishing alone
// (until the bus acknowledged every record). Each replay gets a topic and,
// for ClickHouse, a database of its own; the benchmark fails unless every
// record gives its row (the dev set has one event per record).
//
//   - sink=clickhouse-chdb: rows inserted into the ClickHouse engine through
//     the chDB dev bridge (ClickHouse's HTTP interface, in Python), which
//     limits the figure: it is no measure of a ClickHouse server.
//   - sink=discard: the same with a Sink that drops the rows, the limit of
//     the bus and the processor on this machine.
func BenchmarkReplay(b *testing.B) {
	lines, keys := devMessages(b)
	srv, err := natsserver.Start(context.Background(), natsserver.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	env := &replayEnv{nats: srv, lines: lines, keys: keys, log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	b.Run("sink=clickhouse-chdb", func(b *testing.B) {
		bridge := chdbtest.Start(b)
		url := "http://" + bridge.Addr() + "/"
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := store.Open(ctx, url) // as mcptrail process connects
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		env.run(b, func(b *testing.B, name string) (processor.Sink, func() uint64) {
			opts := chschema.Options{Database: name}
			if _, err := chschema.Apply(ctx, store.NewExecutor(conn, opts), opts, func(string) {}); err != nil {
				b.Fatalf("migrate %s: %v", name, err)
			}
			sink, err := store.NewSink(conn, name)
			if err != nil {
				b.Fatal(err)
			}
			return sink, func() uint64 {
				var n uint64
				q := "SELECT count() FROM " + name + ".events"
				if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
					b.Fatalf("%s: %v", q, err)
				}
				return n
			}
		})
	})
	b.Run("sink=discard", func(b *testing.B) {
		env.run(b, func(*testing.B, string) (processor.Sink, func() uint64) {
			sink := &discardSink{}
			return sink, sink.rows.Load
		})
	})
}

// replayEnv is what the replays share: the NATS server and the messages.
type replayEnv struct {
	nats  *natsserver.Server
	lines [][]byte // the dev set's records, one bus message each
	keys  [][]byte // their sessions, the bus keys
	log   *slog.Logger
	n     int // replays so far, naming their topics and databases
}

// run replays the dev set once per benchmark iteration into the sink
// newSink makes (named for the replay), and checks after each replay that
// stored (the rows the sink holds) equals the number of records.
func (e *replayEnv) run(b *testing.B, newSink func(b *testing.B, name string) (processor.Sink, func() uint64)) {
	b.SetBytes(int64(totalBytes(e.lines)))
	b.ReportAllocs()
	records := 0
	var publishing time.Duration
	for b.Loop() {
		b.StopTimer()
		e.n++
		name := fmt.Sprintf("replay%d", e.n)
		sink, stored := newSink(b, name)
		publishing += e.replay(b, name, sink)
		if got := stored(); got != uint64(len(e.lines)) {
			b.Fatalf("%s: %d rows stored for %d records", name, got, len(e.lines))
		}
		records += len(e.lines)
		b.StartTimer()
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(records)/publishing.Seconds(), "published-records/s")
}

// replay starts a processor on topic, then publishes the messages and
// waits until the processor has stored and acknowledged all of them; only
// that part is timed. It returns how long publishing took (the bus
// acknowledged every record), while the processor consumed.
func (e *replayEnv) replay(b *testing.B, topic string, sink processor.Sink) (publishing time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), replayTimeout)
	defer cancel()
	bs, err := busurl.Open(ctx, "nats://"+e.nats.Addr()+"/"+topic, bus.Config{Logger: e.log}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	cons, err := bs.Consumer(ctx, bus.ConsumerConfig{Group: "processor", AckWait: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer cons.Close()
	pub, err := bs.Publisher(ctx, bus.PublisherConfig{})
	if err != nil {
		b.Fatal(err)
	}
	p := processor.New(sink, processor.Config{Source: topic, BatchWait: batchWait, Logger: e.log})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx, cons) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			b.Errorf("processor: %v", err)
		}
	}()

	b.StartTimer()
	start := time.Now()
	for i, l := range e.lines {
		if err := pub.Publish(ctx, bus.Message{Key: e.keys[i], Value: l}, nil); err != nil {
			b.Fatalf("publish record %d: %v", i+1, err)
		}
	}
	if err := pub.Close(ctx); err != nil {
		b.Fatalf("publish: %v", err)
	}
	publishing = time.Since(start)
	want := int64(len(e.lines))
	for p.Stats().Inserted.Load() < want { // counted after the acknowledgement
		if ctx.Err() != nil {
			s := p.Stats()
			b.Fatalf("%s: after %v, %d records taken, %d rows stored, %d acknowledged, of %d", topic, replayTimeout,
				s.Records.Load(), s.Inserted.Load(), s.Acked.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if s := p.Stats(); s.Inserted.Load() != want || s.Acked.Load() != want || s.DeadLetters.Load() != 0 {
		b.Fatalf("%s: %d rows stored, %d records acknowledged, %d dead letters, for %d records",
			topic, s.Inserted.Load(), s.Acked.Load(), s.DeadLetters.Load(), want)
	}
	return publishing
}

// discardSink drops what the processor writes, counting the event rows.
type discardSink struct{ rows atomic.Uint64 }

func (s *discardSink) InsertEvents(_ context.Context, cols *processor.Columns, _ string) error {
	s.rows.Add(uint64(cols.Len()))
	return nil
}

func (*discardSink) InsertChainProblems(context.Context, time.Time, []processor.ChainReport) error {
	return nil
}

func (*discardSink) InsertDeadLetters(context.Context, []processor.DeadLetter) error { return nil }

func (*discardSink) InsertMetrics(context.Context, []processor.Metric) error { return nil }

// devMessages returns the dev set's lines and their sessions (bus keys),
// skipping the benchmark when the data set is absent outside CI.
func devMessages(b *testing.B) (lines, keys [][]byte) {
	b.Helper()
	data, err := os.ReadFile(devPath)
	if err != nil {
		if os.Getenv("CI") != "" {
			b.Fatal(err)
		}
		b.Skipf("dev data set: %v", err)
	}
	lines = bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	keys = make([][]byte, len(lines))
	var dec schemas.Decoder
	var rec schemas.Record
	for i, l := range lines {
		if err := dec.Decode(l, &rec); err != nil {
			b.Fatalf("dev set line %d: %v", i+1, err)
		}
		keys[i] = []byte(rec.Session)
	}
	return lines, keys
}

func totalBytes(lines [][]byte) int {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	return n
}
