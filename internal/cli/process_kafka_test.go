package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/kafkabus/kafkatest"
	"github.com/mcptrail/mcptrail/internal/chdbtest"
	"github.com/mcptrail/mcptrail/internal/telemetry/telemetrytest"
	"github.com/mcptrail/mcptrail/processor"
	"github.com/mcptrail/mcptrail/schemas"
)

// TestMain stops the Kafka broker the package's tests share, when one of
// them started it.
func TestMain(m *testing.M) {
	os.Exit(kafkatest.Main(m))
}

// newKafkaPipelineEnv is a pipelineEnv on the shared Kafka broker. Its
// topics are new to the broker, so that -count=N runs start empty.
func newKafkaPipelineEnv(t *testing.T) *pipelineEnv {
	t.Helper()
	b := chdbtest.Start(t)
	addr := kafkatest.Start(t)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	return &pipelineEnv{bridge: b, conn: b.Open(t), chURL: "http://" + b.Addr() + "/",
		busURL: func(topic string) string { return "kafka://" + addr + "/cli-" + run + "-" + topic }}
}

// TestProcessPipelineKafka runs `mcptrail process` on a real Apache Kafka
// broker (8 partitions, a consumer group) and the ClickHouse engine (chDB
// bridge): the guarantees TestProcessPipeline checks on NATS, and two
// processors sharing a group.
func TestProcessPipelineKafka(t *testing.T) {
	dev := readLines(t, devSetPath)
	tau := readLines(t, tauSetPath)
	e := newKafkaPipelineEnv(t)

	t.Run("replay", func(t *testing.T) { testReplay(t, e, dev) })
	t.Run("dead letters", func(t *testing.T) { testKafkaDeadLetters(t, e, dev, tau) })
	t.Run("killed mid-batch", func(t *testing.T) { testKilled(t, e, dev) })
	t.Run("group takeover", func(t *testing.T) { testKafkaGroup(t, e, dev) })
	t.Run("clickhouse down", func(t *testing.T) { testClickHouseDown(t, e, tau) })
}

// testKafkaDeadLetters: poison records interleaved with the dev set reach
// the Kafka dead-letter topic, each once, with its reason and origin, and
// the dead_letters table, while the rest is stored. A processor started
// again on the same group finds every offset committed, the dead-lettered
// ones included: it consumes only what is published after it.
func testKafkaDeadLetters(t *testing.T, e *pipelineEnv, dev, tau [][]byte) {
	const topic, db = "dead", "dead"
	e.migrate(t, db)
	poison := [][]byte{
		[]byte("not json at all"),
		[]byte(`{"v":1}`),
		[]byte(`{"v":1,"ts":"2026-10-01T00:00:00Z","host":"h","session":"s","server":{"name":"x"},"transport":"pigeon","dir":"c2s","msg":{}}`),
		[]byte("{\"v\":1,\"host\":\"\xff\xfe\"}"),
		{},
	}
	reasons := make(map[string]string, len(poison)) // payload -> reason
	var all [][]byte
	for i, p := range poison {
		var rec schemas.Record
		err := processor.Decode(p, &rec)
		if err == nil {
			t.Fatalf("poison record %q decodes", p)
		}
		reasons[string(p)] = processor.DeadLetterReason(err)
		all = append(all, dev[i*len(dev)/len(poison):(i+1)*len(dev)/len(poison)]...)
		all = append(all, p)
	}
	want := rowsOf(t, dev)
	e.publish(t, topic, all)

	logs, stop := e.startProcess(t, topic, db, "--batch-rows", "2000", "--metrics-listen", "127.0.0.1:0")
	metrics := telemetrytest.Addr(t, logs, 30*time.Second)
	e.waitRows(t, "SELECT count() FROM dead.events", want, 90*time.Second, logs)
	e.waitRows(t, "SELECT count() FROM dead.dead_letters", uint64(len(poison)), 30*time.Second, logs)
	telemetrytest.WaitValue(t, metrics, 30*time.Second, telemetrytest.Equals(float64(len(poison))), "mcptrail_processor_dead_letters_total")
	telemetrytest.WaitValue(t, metrics, 30*time.Second, telemetrytest.Equals(float64(len(dev))), "mcptrail_processor_records_acked_total")
	if n := e.uint(t, "SELECT uniqExact(event_id) FROM dead.events"); n != want {
		t.Errorf("%d distinct event ids, want %d", n, want)
	}
	fams := telemetrytest.Scrape(t, metrics)
	if got, _ := fams.Value("mcptrail_processor_records_consumed_total"); got != float64(len(all)) {
		t.Errorf("records consumed %v, want %d (each once)", got, len(all))
	}
	if code := stop(); code != 0 {
		t.Fatalf("process exited %d", code)
	}

	// The dead_letters table: each poison record once, with its reason and
	// its Kafka partition/offset.
	partition := bus.Partition([]byte("poison"), bus.DefaultPartitions)
	origin := make(map[string]string, len(poison)) // payload -> "partition/offset"
	rows, err := e.conn.Query(context.Background(), "SELECT payload, reason, position FROM dead.dead_letters")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var payload, reason, position string
		if err := rows.Scan(&payload, &reason, &position); err != nil {
			t.Fatal(err)
		}
		if want, ok := reasons[payload]; !ok || reason != want {
			t.Errorf("dead_letters row %q: reason %q, want %q (poison: %v)", payload, reason, want, ok)
		}
		if _, dup := origin[payload]; dup {
			t.Errorf("dead_letters row %q twice", payload)
		}
		origin[payload] = position
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	_ = rows.Close()

	// The Kafka dead-letter topic: the same records, once each, with the
	// same reason and origin in headers, and nothing else.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dead, dlq := e.deadLetters(ctx, t, topic, len(poison))
	more, cancelMore := context.WithTimeout(ctx, 3*time.Second)
	extra, err := dlq.Fetch(more, 10)
	cancelMore()
	if !errors.Is(err, context.DeadlineExceeded) || len(extra) > 0 {
		t.Errorf("dead-letter topic: %d records more than the %d poison ones (%v)", len(extra), len(poison), err)
	}
	seen := make(map[string]bool, len(dead))
	for _, d := range dead {
		p := string(d.Value)
		h := d.Headers
		if seen[p] {
			t.Errorf("dead letter %q twice on the topic", p)
		}
		seen[p] = true
		if want, ok := reasons[p]; !ok || h[bus.HeaderDeadLetterReason] != want {
			t.Errorf("dead letter %q: reason %q, want %q (poison: %v)", p, h[bus.HeaderDeadLetterReason], want, ok)
		}
		if got := h[bus.HeaderDeadLetterPartition] + "/" + h[bus.HeaderDeadLetterPosition]; got != origin[p] {
			t.Errorf("dead letter %q: origin %s in headers, %s in dead_letters", p, got, origin[p])
		}
		if h[bus.HeaderDeadLetterPartition] != strconv.Itoa(partition) || string(d.Key) != "poison" {
			t.Errorf("dead letter %q: key %q from partition %s, want key poison from %d", p, d.Key, h[bus.HeaderDeadLetterPartition], partition)
		}
	}
	if err := dlq.Ack(ctx, dead...); err != nil {
		t.Fatal(err)
	}

	// Started again on the same group, the processor resumes after the
	// last record: one new record per partition (the last of each) comes
	// through, and nothing it stored or dead-lettered before.
	logs, stop = e.startProcess(t, topic, db, "--metrics-listen", "127.0.0.1:0")
	metrics = telemetrytest.Addr(t, logs, 30*time.Second)
	fresh := make([]bus.Message, 0, bus.DefaultPartitions)
	for i, p := 0, 0; p < bus.DefaultPartitions; i++ {
		if key := fmt.Appendf(nil, "fresh-%d", i); bus.Partition(key, bus.DefaultPartitions) == p {
			fresh = append(fresh, bus.Message{Key: key, Value: tau[p]})
			p++
		}
	}
	e.publishMessages(t, topic, fresh)
	freshRows := rowsOf(t, tau[:len(fresh)])
	atLeast := func(v float64) bool { return v >= float64(freshRows) }
	telemetrytest.WaitValue(t, metrics, 60*time.Second, atLeast, "mcptrail_processor_rows_inserted_total")
	fams = telemetrytest.Scrape(t, metrics)
	for name, v := range map[string]float64{
		"mcptrail_processor_records_consumed_total": float64(len(fresh)),
		"mcptrail_processor_rows_inserted_total":    float64(freshRows),
		"mcptrail_processor_dead_letters_total":     0,
	} {
		if got, _ := fams.Value(name); got != v {
			t.Errorf("after the restart: %s = %v, want %v (records delivered again)", name, got, v)
		}
	}
	if code := stop(); code != 0 {
		t.Fatalf("process exited %d", code)
	}
	if n := e.uint(t, "SELECT count() FROM dead.events FINAL"); n != want+freshRows {
		t.Errorf("count FINAL %d, want %d", n, want+freshRows)
	}
}

// testKafkaGroup: two processors in one consumer group share the
// partitions; when one stops mid-stream the other takes its partitions
// over, and every record is stored, once by event id.
func testKafkaGroup(t *testing.T, e *pipelineEnv, dev [][]byte) {
	const topic, db, group = "spread", "spread", "spread"
	e.migrate(t, db)
	want := rowsOf(t, dev)
	addr := kafkatest.Start(t)
	args := []string{"--group", group, "--batch-rows", "2000", "--metrics-listen", "127.0.0.1:0"}
	logsA, stopA := e.startProcess(t, topic, db, args...)
	logsB, stopB := e.startProcess(t, topic, db, args...)
	metricsA := telemetrytest.Addr(t, logsA, 30*time.Second)
	metricsB := telemetrytest.Addr(t, logsB, 30*time.Second)
	every := make([]int, bus.DefaultPartitions)
	for i := range every {
		every[i] = i
	}
	checkPartitions := func(members [][]int) {
		t.Helper()
		all := slices.Concat(members...)
		slices.Sort(all)
		if !slices.Equal(all, every) {
			t.Fatalf("partitions by member %v, want each of %v once", members, every)
		}
	}
	checkPartitions(kafkatest.WaitGroup(t, addr, group, 2, 60*time.Second))

	e.publish(t, topic, dev)
	deadline := time.Now().Add(60 * time.Second)
	for e.uint(t, "SELECT count() FROM spread.events") < want/4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d rows stored after 60 s\n%s", e.uint(t, "SELECT count() FROM spread.events"), tail(logsA.String()+logsB.String(), 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
	consumedA, _ := telemetrytest.Scrape(t, metricsA).Value("mcptrail_processor_records_consumed_total")
	consumedB, _ := telemetrytest.Scrape(t, metricsB).Value("mcptrail_processor_records_consumed_total")
	if consumedA == 0 || consumedB == 0 {
		t.Errorf("records consumed: %v by one processor, %v by the other; want both to work", consumedA, consumedB)
	}
	if code := stopA(); code != 0 {
		t.Fatalf("first processor exited %d", code)
	}
	atStop := e.uint(t, "SELECT count() FROM spread.events")
	checkPartitions(kafkatest.WaitGroup(t, addr, group, 1, 60*time.Second))

	e.waitRows(t, "SELECT uniqExact(event_id) FROM spread.events", want, 90*time.Second, logsB)
	raw := e.uint(t, "SELECT count() FROM spread.events")
	if n := e.uint(t, "SELECT count() FROM spread.events FINAL"); n != want {
		t.Errorf("count FINAL %d, want %d", n, want)
	}
	if code := stopB(); code != 0 {
		t.Fatalf("second processor exited %d", code)
	}
	t.Logf("%v and %v records consumed when one processor stopped with %d of %d rows stored; %d rows before merging (%d stored again after the rebalance)",
		consumedA, consumedB, atStop, want, raw, raw-want)
}
