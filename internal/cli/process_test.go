package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/busurl"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
	"github.com/mcptrail/mcptrail/internal/chdbtest"
	"github.com/mcptrail/mcptrail/internal/syncbuf"
	"github.com/mcptrail/mcptrail/internal/telemetry/telemetrytest"
	"github.com/mcptrail/mcptrail/processor"
	"github.com/mcptrail/mcptrail/schemas"
)

const (
	devSetPath = "../../../shared/datasets/agentdojo-dev/agentdojo-dev.capture.jsonl"
	tauSetPath = "../../../shared/datasets/taubench-airline-benign/taubench-airline-benign.capture.jsonl"
)

// pipelineEnv is a real bus (NATS JetStream here, Kafka in
// process_kafka_test.go) and a real ClickHouse engine (the chDB bridge)
// shared by the subtests; each subtest uses its own topic and database.
type pipelineEnv struct {
	bridge *chdbtest.Bridge
	conn   clickhouse.Conn
	chURL  string
	// busURL is the bus URL of a topic.
	busURL func(topic string) string
}

func newPipelineEnv(t *testing.T) *pipelineEnv {
	t.Helper()
	b := chdbtest.Start(t)
	srv, err := natsserver.Start(context.Background(), natsserver.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return &pipelineEnv{bridge: b, conn: b.Open(t), chURL: "http://" + b.Addr() + "/",
		busURL: func(topic string) string { return "nats://" + srv.Addr() + "/" + topic }}
}

// migrate creates database db with mcptrail migrate.
func (e *pipelineEnv) migrate(t *testing.T, db string) {
	t.Helper()
	if code, out, errOut := runCLI(t, "migrate", "--clickhouse", e.chURL, "--database", db); code != 0 {
		t.Fatalf("migrate: exit %d\n%s\n%s", code, out, errOut)
	}
}

func (e *pipelineEnv) uint(t *testing.T, q string) uint64 {
	t.Helper()
	var n uint64
	if err := e.conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// waitRows waits until q returns want, failing after timeout.
func (e *pipelineEnv) waitRows(t *testing.T, q string, want uint64, timeout time.Duration, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var n uint64
	for {
		if err := e.conn.QueryRow(context.Background(), q).Scan(&n); err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d after %v, want %d\nprocessor log (tail):\n%s", q, n, timeout, want, tail(logs.String(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// readLines returns the lines of a capture file, skipping the test when a
// data set is absent outside CI.
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("data set: %v", err)
	}
	return bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
}

// rowsOf is how many event rows the capture lines give.
func rowsOf(t *testing.T, lines [][]byte) uint64 {
	t.Helper()
	n := processor.NewNormalizer(0)
	var cols processor.Columns
	var rec schemas.Record
	for _, l := range lines {
		if processor.Decode(l, &rec) == nil {
			n.Add(&rec, &cols)
		}
	}
	return uint64(cols.Len())
}

// publish puts lines on the topic, keyed by their session.
func (e *pipelineEnv) publish(t *testing.T, topic string, lines [][]byte) {
	t.Helper()
	msgs := make([]bus.Message, len(lines))
	var rec schemas.Record
	for i, l := range lines {
		key := "poison"
		if processor.Decode(l, &rec) == nil {
			key = rec.Session
		}
		msgs[i] = bus.Message{Key: []byte(key), Value: l}
	}
	e.publishMessages(t, topic, msgs)
}

// publishMessages puts msgs on the topic and waits until the bus has them.
func (e *pipelineEnv) publishMessages(t *testing.T, topic string, msgs []bus.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := busurl.Open(ctx, e.busURL(topic), bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := b.Publisher(ctx, bus.PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := p.Publish(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// deadLetters reads n records from the dead-letter topic of topic. It
// returns them and the consumer, which stays open until the test ends (to
// check that nothing more follows).
func (e *pipelineEnv) deadLetters(ctx context.Context, t *testing.T, topic string, n int) ([]*bus.Delivery, bus.Consumer) {
	t.Helper()
	bb, err := busurl.Open(ctx, e.busURL(topic), bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bb.Close() })
	dlq, err := bb.Consumer(ctx, bus.ConsumerConfig{Group: "test", DeadLetters: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dlq.Close() })
	var dead []*bus.Delivery
	for len(dead) < n {
		ds, err := dlq.Fetch(ctx, 10)
		if err != nil {
			t.Fatalf("dead-letter topic of %s: %d of %d: %v", topic, len(dead), n, err)
		}
		dead = append(dead, ds...)
	}
	return dead, dlq
}

// startProcess runs mcptrail process in this process until the returned
// stop is called; stop returns the exit code.
func (e *pipelineEnv) startProcess(t *testing.T, topic, db string, extra ...string) (logs *syncbuf.Buffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncbuf.Buffer{}
	code := make(chan int, 1)
	args := append([]string{"process", "--bus", e.busURL(topic), "--clickhouse", e.chURL, "--database", db,
		"--batch-wait", "200ms", "--metrics-interval", "1s", "--ack-wait", "5s", "--chain-wait", "2s"}, extra...)
	go func() { code <- Main(ctx, args, strings.NewReader(""), &syncbuf.Buffer{}, logs) }()
	stopped := false
	stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case c := <-code:
			return c
		case <-time.After(30 * time.Second):
			t.Fatalf("processor did not stop within 30 s:\n%s", tail(logs.String(), 20))
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	return logs, stop
}

// TestProcessPipeline runs `mcptrail process` and `mcptrail verify` on
// real components: NATS JetStream in process and the ClickHouse engine
// (chDB bridge).
func TestProcessPipeline(t *testing.T) {
	dev := readLines(t, devSetPath)
	tau := readLines(t, tauSetPath)
	e := newPipelineEnv(t)

	t.Run("replay", func(t *testing.T) { testReplay(t, e, dev) })
	t.Run("dead letters and hash chains", func(t *testing.T) { testChains(t, e, tau) })
	t.Run("killed mid-batch", func(t *testing.T) { testKilled(t, e, dev) })
	t.Run("clickhouse down", func(t *testing.T) { testClickHouseDown(t, e, tau) })
}

// testReplay: one row per message; a second replay stores nothing new.
func testReplay(t *testing.T, e *pipelineEnv, dev [][]byte) {
	start := time.Now()
	e.migrate(t, "replay")
	want := uint64(len(dev))
	e.publish(t, "replay", dev)
	logs, stop := e.startProcess(t, "replay", "replay", "--batch-rows", "5000", "--metrics-listen", "127.0.0.1:0")
	metrics := telemetrytest.Addr(t, logs, 30*time.Second)
	e.waitRows(t, "SELECT count() FROM replay.events", want, 90*time.Second, logs)
	first := time.Since(start)

	// The Prometheus counters say what ClickHouse holds.
	telemetrytest.WaitValue(t, metrics, 30*time.Second, telemetrytest.Equals(float64(want)), "mcptrail_processor_rows_inserted_total")
	telemetrytest.WaitValue(t, metrics, 30*time.Second, telemetrytest.Equals(0), "mcptrail_processor_held_records")
	fams := telemetrytest.Scrape(t, metrics)
	if m := fams.Missing(processorMetrics...); len(m) > 0 {
		t.Errorf("metric families missing: %v", m)
	}
	for name, v := range map[string]float64{
		"mcptrail_processor_records_consumed_total": float64(want),
		"mcptrail_processor_records_acked_total":    float64(want),
		"mcptrail_processor_dead_letters_total":     0,
	} {
		if got, _ := fams.Value(name); got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	batches, _ := fams.Value("mcptrail_processor_batches_total")
	inserts, _ := fams.Value("mcptrail_processor_insert_duration_seconds")
	if batches == 0 || inserts != batches {
		t.Errorf("%v batches, %v insert durations observed; want as many, more than 0", batches, inserts)
	}
	if code, body := telemetrytest.Get(t, metrics, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz while running: %d %s", code, body)
	}
	if n := e.uint(t, "SELECT uniqExact(event_id) FROM replay.events"); n != want {
		t.Errorf("%d distinct event ids, want %d", n, want)
	}

	// The same capture again (new bus positions, so new tokens): the rows
	// come again with the same event ids and collapse (raw count() is no
	// measure: background merges already collapse some).
	e.publish(t, "replay", dev)
	e.waitRows(t, "SELECT toUInt64(max(value)) FROM replay.pipeline_metrics WHERE metric = 'rows_inserted_total'", 2*want, 90*time.Second, logs)
	telemetrytest.WaitValue(t, metrics, 30*time.Second, telemetrytest.Equals(float64(2*want)), "mcptrail_processor_rows_inserted_total")
	for _, q := range []string{"SELECT count() FROM replay.events FINAL", "SELECT uniqExact(event_id) FROM replay.events"} {
		if n := e.uint(t, q); n != want {
			t.Errorf("after a second replay, %s = %d, want %d", q, n, want)
		}
	}
	if err := e.conn.Exec(context.Background(), "OPTIMIZE TABLE replay.events FINAL"); err != nil {
		t.Fatal(err)
	}
	if n := e.uint(t, "SELECT count() FROM replay.events"); n != want {
		t.Errorf("after the replay and a merge: %d rows, want %d", n, want)
	}
	time.Sleep(1200 * time.Millisecond) // one more progress line
	if code := stop(); code != 0 {
		t.Fatalf("process exited %d", code)
	}
	out := logs.String()
	for _, s := range []string{"processor: progress", "records_per_s=", "rows_inserted=", "processor: stopped"} {
		if !strings.Contains(out, s) {
			t.Errorf("log lacks %q:\n%s", s, tail(out, 10))
		}
	}
	if n := e.uint(t, "SELECT count() FROM replay.pipeline_metrics WHERE metric = 'rows_inserted_total'"); n == 0 {
		t.Error("no pipeline_metrics samples")
	}
	// The per-period samples the pipeline dashboard sums add up to the
	// rows stored.
	if n := e.uint(t, "SELECT toUInt64(sum(value)) FROM replay.pipeline_metrics WHERE metric = 'rows_inserted'"); n != 2*want {
		t.Errorf("rows_inserted samples sum to %d, want %d", n, 2*want)
	}
	t.Logf("dev set: %d records stored in %v (publish, process, insert)", want, first.Round(time.Millisecond))
}

// sealed seals lines as one collector stream; edit, if >= 0, changes the
// record with that index after sealing.
func sealed(t *testing.T, stream string, lines [][]byte, edit int) [][]byte {
	t.Helper()
	s := schemas.NewSealer(stream)
	out := make([][]byte, len(lines))
	for i, l := range lines {
		var rec schemas.Record
		if err := processor.Decode(l, &rec); err != nil {
			t.Fatal(err)
		}
		b, err := s.SealEncode(&rec)
		if err != nil {
			t.Fatal(err)
		}
		if i == edit {
			b = bytes.Replace(b, []byte(`"jsonrpc":"2.0"`), []byte(`"jsonrpc":"2.0","x":1`), 1)
		}
		out[i] = b
	}
	return out
}

// testChains: poison records go to the dead letters with their reason
// while the rest is stored; an edited record of a sealed stream is
// reported by the processor and by verify, and so is a stored row edited
// in ClickHouse.
func testChains(t *testing.T, e *pipelineEnv, tau [][]byte) {
	e.migrate(t, "chains")
	a := sealed(t, "stream-a", tau[:300], -1)
	b := sealed(t, "stream-b", tau[300:600], 49) // seq 50 edited
	poison := [][]byte{[]byte("not json at all"), []byte(`{"v":1}`), []byte(`{"v":1,"ts":"2026-10-01T00:00:00Z","host":"h","session":"s","server":{"name":"x"},"transport":"pigeon","dir":"c2s","msg":{}}`)}
	var all [][]byte
	for i := range 300 { // interleave the streams and the poison
		all = append(all, a[i], b[i])
		if i%100 == 7 {
			all = append(all, poison[i/100])
		}
	}
	want := rowsOf(t, a) + rowsOf(t, b)
	e.publish(t, "chains", all)
	logs, stop := e.startProcess(t, "chains", "chains", "--batch-rows", "100", "--metrics-listen", "127.0.0.1:0")
	metrics := telemetrytest.Addr(t, logs, 30*time.Second)
	e.waitRows(t, "SELECT count() FROM chains.events", want, 60*time.Second, logs)
	e.waitRows(t, "SELECT count() FROM chains.dead_letters", 3, 30*time.Second, logs)
	e.waitRows(t, "SELECT count() FROM chains.chain_problems WHERE kind = 'edit' AND stream = 'stream-b' AND seq = 50", 1, 30*time.Second, logs)
	if n := e.uint(t, "SELECT count() FROM chains.chain_problems WHERE stream = 'stream-a' OR kind != 'edit'"); n != 0 {
		t.Errorf("%d chain problems besides the edit; log:\n%s", n, tail(logs.String(), 20))
	}
	telemetrytest.WaitValue(t, metrics, 30*time.Second, telemetrytest.Equals(3), "mcptrail_processor_dead_letters_total")
	telemetrytest.WaitValue(t, metrics, 30*time.Second, telemetrytest.Equals(1), "mcptrail_processor_chain_problems_total")
	telemetrytest.WaitValue(t, metrics, 30*time.Second, telemetrytest.Equals(float64(want)), "mcptrail_processor_rows_inserted_total")
	var reason string
	if err := e.conn.QueryRow(context.Background(), "SELECT reason FROM chains.dead_letters WHERE payload = 'not json at all'").Scan(&reason); err != nil || !strings.HasPrefix(reason, "syntax") {
		t.Errorf("dead letter reason %q (%v), want a syntax error", reason, err)
	}
	if code := stop(); code != 0 {
		t.Fatalf("process exited %d", code)
	}

	// The bus's dead-letter topic has them too, with the reason.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dead, _ := e.deadLetters(ctx, t, "chains", 3)
	for _, d := range dead {
		if d.Headers[bus.HeaderDeadLetterReason] == "" {
			t.Errorf("dead letter %q without a reason: %v", d.Value, d.Headers)
		}
	}

	// verify: the edited record, and nothing in the intact stream.
	code, out, errOut := runCLI(t, "verify", "--clickhouse", e.chURL, "--database", "chains")
	if code != ExitFindings || !regexpLine(out, `edit\s+stream-b\s+50\s`) || strings.Contains(out, "stream-a") ||
		!strings.Contains(out, "verified 600 records") {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
	}

	// A stored row edited in ClickHouse breaks the chain too.
	if err := e.conn.Exec(context.Background(), `ALTER TABLE chains.events UPDATE params = replaceOne(params, '{', '{"x":1,'), result = replaceOne(result, '{', '{"x":1,') WHERE stream = 'stream-a' AND seq = 10 SETTINGS mutations_sync = 2`); err != nil {
		t.Fatal(err)
	}
	if err := e.conn.Exec(context.Background(), `ALTER TABLE chains.events UPDATE host = 'elsewhere' WHERE stream = 'stream-a' AND seq = 20 SETTINGS mutations_sync = 2`); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "verify", "--clickhouse", e.chURL, "--database", "chains", "--host", "elsewhere")
	if code != ExitFindings || !regexpLine(out, `edit\s+stream-a\s+20\s+elsewhere`) {
		t.Fatalf("verify --host elsewhere: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "verify", "--clickhouse", e.chURL, "--database", "chains")
	if code != ExitFindings || !regexpLine(out, `edit\s+stream-a\s+10\s`) || !regexpLine(out, `edit\s+stream-a\s+20\s`) {
		t.Fatalf("verify after editing rows: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("verify output:\n%s", out)

	if code, _, errOut := runCLI(t, "verify", "--clickhouse", e.chURL, "--database", "chains", "--since", "2099-01-01T00:00:00Z"); code != 0 {
		t.Errorf("verify of an empty window: exit %d: %s", code, errOut)
	}
	if code, _, _ := runCLI(t, "verify", "--clickhouse", e.chURL, "--since", "yesterday"); code != ExitFailure {
		t.Errorf("verify --since yesterday: exit %d, want %d", code, ExitFailure)
	}
}

// testKilled: the real binary, killed with SIGKILL while it works through
// the dev set and started again, stores every record once.
func testKilled(t *testing.T, e *pipelineEnv, dev [][]byte) {
	bin := filepath.Join(t.TempDir(), "mcptrail")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/mcptrail")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	e.migrate(t, "killed")
	want := uint64(len(dev))
	e.publish(t, "killed", dev)
	run := func() (*exec.Cmd, *syncbuf.Buffer) {
		logs := &syncbuf.Buffer{}
		cmd := exec.Command(bin, "process", "--bus", e.busURL("killed"), "--clickhouse", e.chURL, "--database", "killed",
			"--batch-rows", "2000", "--batch-wait", "200ms", "--ack-wait", "3s", "--metrics-interval", "1s")
		cmd.Stderr = logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, logs
	}
	cmd, logs := run()
	// Kill it once some batches are stored, in the middle of the run.
	deadline := time.Now().Add(60 * time.Second)
	for e.uint(t, "SELECT count() FROM killed.events") < 6000 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no rows stored in 60 s:\n%s", tail(logs.String(), 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	atKill := e.uint(t, "SELECT count() FROM killed.events")
	t.Logf("killed with %d of %d rows stored", atKill, want)

	cmd, logs = run()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	e.waitRows(t, "SELECT uniqExact(event_id) FROM killed.events", want, 90*time.Second, logs)
	raw := e.uint(t, "SELECT count() FROM killed.events")
	if n := e.uint(t, "SELECT count() FROM killed.events FINAL"); n != want {
		t.Errorf("count FINAL %d, want %d", n, want)
	}
	if err := e.conn.Exec(context.Background(), "OPTIMIZE TABLE killed.events FINAL"); err != nil {
		t.Fatal(err)
	}
	if n := e.uint(t, "SELECT count() FROM killed.events"); n != want {
		t.Errorf("after a merge: %d rows, want %d", n, want)
	}
	t.Logf("after the restart: %d rows before merging (%d stored twice by a batch cut differently), %d distinct", raw, raw-want, want)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("processor after SIGTERM: %v\n%s", err, tail(logs.String(), 10))
	}
}

// testClickHouseDown: with ClickHouse stopped the processor holds its
// batch and retries; when it is back everything is stored.
func testClickHouseDown(t *testing.T, e *pipelineEnv, tau [][]byte) {
	e.migrate(t, "down")
	half := len(tau) / 2
	logs, stop := e.startProcess(t, "down", "down", "--batch-rows", "500", "--retry-max", "500ms", "--metrics-listen", "127.0.0.1:0")
	metrics := telemetrytest.Addr(t, logs, 30*time.Second)
	e.publish(t, "down", tau[:half])
	e.waitRows(t, "SELECT count() FROM down.events", rowsOf(t, tau[:half]), 60*time.Second, logs)
	telemetrytest.WaitStatus(t, metrics, "/readyz", http.StatusOK, 10*time.Second)

	e.bridge.Stop()
	// Not ready while ClickHouse is down, with the reason; alive all along.
	if body := telemetrytest.WaitStatus(t, metrics, "/readyz", http.StatusServiceUnavailable, 20*time.Second); !strings.Contains(body, "ClickHouse") {
		t.Errorf("/readyz with ClickHouse down: %q, want the reason", body)
	}
	if code, _ := telemetrytest.Get(t, metrics, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with ClickHouse down: %d, want 200", code)
	}
	e.publish(t, "down", tau[half:])
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "retrying") {
		if time.Now().After(deadline) {
			t.Fatalf("no retry logged while ClickHouse was down:\n%s", tail(logs.String(), 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // a few more attempts
	telemetrytest.WaitValue(t, metrics, 10*time.Second, telemetrytest.Above(0), "mcptrail_processor_insert_retries_total")
	held := telemetrytest.WaitValue(t, metrics, 10*time.Second, telemetrytest.Above(0), "mcptrail_processor_held_records")
	e.bridge.Restart()
	e.conn = e.bridge.Open(t)
	want := rowsOf(t, tau)
	e.waitRows(t, "SELECT uniqExact(event_id) FROM down.events", want, 60*time.Second, logs)
	telemetrytest.WaitStatus(t, metrics, "/readyz", http.StatusOK, 20*time.Second)
	telemetrytest.WaitValue(t, metrics, 20*time.Second, telemetrytest.Equals(0), "mcptrail_processor_held_records")
	t.Logf("%v records held while ClickHouse was down", held)
	if n := e.uint(t, "SELECT count() FROM down.events FINAL"); n != want {
		t.Errorf("count FINAL %d, want %d", n, want)
	}
	if code := stop(); code != 0 {
		t.Fatalf("process exited %d", code)
	}
	out := logs.String()
	if !strings.Contains(out, "recovered") {
		t.Errorf("no recovery logged:\n%s", tail(out, 20))
	}
	t.Logf("retry log:\n%s", grepLines(out, "retrying", 3))
}

func grepLines(s, sub string, n int) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) && len(out) < n {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// processorMetrics are the metric families mcptrail process serves.
var processorMetrics = []string{
	"mcptrail_processor_records_consumed_total", "mcptrail_processor_rows_inserted_total",
	"mcptrail_processor_batches_total", "mcptrail_processor_records_acked_total",
	"mcptrail_processor_insert_retries_total", "mcptrail_processor_dead_letters_total",
	"mcptrail_processor_chain_problems_total", "mcptrail_processor_chain_duplicates_total",
	"mcptrail_processor_insert_duration_seconds", "mcptrail_processor_held_records",
	"mcptrail_processor_chain_waiting_records", "mcptrail_processor_pending_requests",
	"mcptrail_processor_bus_lag_seconds", "mcptrail_processor_bus_pending_records",
	"go_goroutines", "process_resident_memory_bytes",
}

// regexpLine reports whether a line of s matches expr.
func regexpLine(s, expr string) bool {
	return regexp.MustCompile(`(?m)^` + expr).MatchString(s)
}
