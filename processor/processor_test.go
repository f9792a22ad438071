package processor

import (
	"bytes"
	"errors"
	"io"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/schemas"
	"github.com/mcptrail/mcptrail/schemas/mcp"
)

func readRecords(t testing.TB, path string) []*schemas.Record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("%s: %v", path, err)
	}
	r := schemas.NewReader(bytes.NewReader(data))
	var out []*schemas.Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

const samplePath = "../schemas/testdata/sample.capture.jsonl"
const devPath = "../../shared/datasets/agentdojo-dev/agentdojo-dev.capture.jsonl"

func TestEventID(t *testing.T) {
	recs := readRecords(t, samplePath)
	a, b := recs[5], *recs[5]
	if EventID(a, -1) != EventID(&b, -1) {
		t.Error("the same record gave two ids")
	}
	if EventID(a, -1) == EventID(a, 0) || EventID(a, 0) == EventID(a, 1) {
		t.Error("batch positions share an id")
	}
	if EventID(recs[5], -1) == EventID(recs[6], -1) {
		t.Error("two records share an id")
	}
	chained := *a
	chained.Stream, chained.Seq = "s1", 7
	moved := chained
	moved.TS = moved.TS.Add(time.Hour)
	if EventID(&chained, -1) != EventID(&moved, -1) {
		t.Error("a chained record's id depends on more than its stream and seq")
	}
	next := chained
	next.Seq = 8
	if EventID(&chained, -1) == EventID(&next, -1) {
		t.Error("two seqs share an id")
	}
}

func ev(kind mcp.Kind, dir schemas.Direction, id string, ts time.Time) *schemas.Event {
	return &schemas.Event{Kind: schemas.EventKind(kind), Dir: dir, RPCID: mcp.ID(id), Session: "s", TS: ts,
		Method: "tools/call", Category: mcp.CategoryTools, Target: "send_email"}
}

func TestPairer(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := NewPairer(0)
	p.Pair(ev(mcp.KindRequest, schemas.ClientToServer, "1", t0))
	resp := &schemas.Event{Kind: schemas.EventKind(mcp.KindResult), Dir: schemas.ServerToClient, RPCID: "1", Session: "s", TS: t0.Add(1500 * time.Microsecond)}
	p.Pair(resp)
	if resp.Latency != 1500*time.Microsecond || resp.Method != "tools/call" || resp.Target != "send_email" || p.Pending() != 0 {
		t.Errorf("response not paired: %+v, %d pending", resp, p.Pending())
	}
	// A server-initiated request is answered by the client.
	sreq := &schemas.Event{Kind: schemas.EventKind(mcp.KindRequest), Dir: schemas.ServerToClient, RPCID: "0", Session: "s", TS: t0, Method: "roots/list"}
	p.Pair(sreq)
	cresp := &schemas.Event{Kind: schemas.EventKind(mcp.KindError), Dir: schemas.ClientToServer, RPCID: "0", Session: "s", TS: t0.Add(time.Millisecond)}
	p.Pair(cresp)
	if cresp.Method != "roots/list" || cresp.Latency != time.Millisecond {
		t.Errorf("server request not paired: %+v", cresp)
	}
	// Same id in another session, or a string id with the same digits: unpaired.
	p.Pair(ev(mcp.KindRequest, schemas.ClientToServer, "5", t0))
	other := &schemas.Event{Kind: schemas.EventKind(mcp.KindResult), Dir: schemas.ServerToClient, RPCID: `"5"`, Session: "s", TS: t0}
	p.Pair(other)
	if other.Method != "" || p.Pending() != 1 {
		t.Errorf("string id \"5\" paired with numeric 5: %+v", other)
	}
}

func TestPairerBounded(t *testing.T) {
	p := NewPairer(100)
	for i := range 1000 {
		p.Pair(ev(mcp.KindRequest, schemas.ClientToServer, string(rune('a'+i%26))+time.Duration(i).String(), time.Unix(0, 0)))
	}
	if p.Pending() > 100 || p.Evicted != 900 {
		t.Errorf("%d pending, %d evicted; want at most 100 and 900", p.Pending(), p.Evicted)
	}
}

func TestNormalizerSample(t *testing.T) {
	n := NewNormalizer(0)
	var cols Columns
	total := 0
	for _, rec := range readRecords(t, samplePath) {
		total += n.Add(rec, &cols)
	}
	if total != 27 || cols.Len() != 27 || len(cols.Attrs) != 27 || len(cols.TokenExp) != 27 {
		t.Fatalf("%d events, %d rows", total, cols.Len())
	}
	seen := map[uint64]bool{}
	paired := 0
	for i := range cols.Len() {
		if seen[cols.EventID[i]] {
			t.Errorf("row %d: duplicate event id", i)
		}
		seen[cols.EventID[i]] = true
		if cols.Kind[i] == "result" || cols.Kind[i] == "error" {
			if cols.Method[i] == "" || cols.LatencyUS[i] == 0 {
				t.Errorf("row %d: response not paired (method %q, latency %d)", i, cols.Method[i], cols.LatencyUS[i])
			}
			paired++
		}
	}
	if paired != 10 || n.Pairer().Pending() != 0 {
		t.Errorf("%d responses paired, %d requests pending", paired, n.Pairer().Pending())
	}
	cols.Reset()
	if cols.Len() != 0 || len(cols.Params) != 0 {
		t.Error("Reset left rows")
	}
}

// TestNormalizerDevSet: on the dev data set every response pairs with its
// request and the ids are unique.
func TestNormalizerDevSet(t *testing.T) {
	recs := readRecords(t, devPath)
	n := NewNormalizer(0)
	var cols Columns
	for _, rec := range recs {
		n.Add(rec, &cols)
	}
	ids := make(map[uint64]struct{}, cols.Len())
	unpaired := 0
	for i := range cols.Len() {
		ids[cols.EventID[i]] = struct{}{}
		if (cols.Kind[i] == "result" || cols.Kind[i] == "error") && cols.Method[i] == "" {
			unpaired++
		}
		if cols.Method[i] == "tools/call" && cols.Kind[i] == "result" && cols.Target[i] == "" {
			t.Fatalf("row %d: tools/call result without its tool", i)
		}
	}
	if len(ids) != cols.Len() || unpaired != 0 || cols.Len() != len(recs) {
		t.Errorf("%d rows for %d records, %d distinct ids, %d unpaired responses", cols.Len(), len(recs), len(ids), unpaired)
	}
}

// TestNormalizerDecode: decoding the lines as bus messages with a
// Normalizer, which walks each JSON-RPC message once, gives the same rows
// as normalizing the records a Reader reads.
func TestNormalizerDecode(t *testing.T) {
	for _, path := range []string{samplePath, devPath} {
		want := NewNormalizer(0)
		var wantCols Columns
		for _, rec := range readRecords(t, path) {
			want.Add(rec, &wantCols)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got := NewNormalizer(0)
		var gotCols Columns
		for line := range bytes.Lines(data) {
			var rec schemas.Record
			if err := got.Decode(bytes.TrimSuffix(line, []byte("\n")), &rec); err != nil {
				t.Fatal(err)
			}
			got.Add(&rec, &gotCols)
		}
		if gotCols.Len() == 0 || !reflect.DeepEqual(gotCols, wantCols) {
			t.Errorf("%s: %d rows differ from the %d rows of the records read", path, gotCols.Len(), wantCols.Len())
		}
	}
}

// BenchmarkCorePath is the processor's core path on the dev data set, on
// one core, as Processor.add runs it for each bus message: decode,
// normalize, pair, hash, column append (goal: 250k events/s per core). Like
// a Processor, it keeps one Normalizer and batch from message to message,
// the batch emptied when it is full.
func BenchmarkCorePath(b *testing.B) {
	data, err := os.ReadFile(devPath)
	if err != nil {
		b.Skip(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) // the bus messages
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var (
		n      = NewNormalizer(0)
		cols   Columns
		rec    schemas.Record
		events int64
	)
	for b.Loop() {
		for _, line := range lines {
			if err := n.Decode(line, &rec); err != nil {
				b.Fatal(err)
			}
			events += int64(n.Add(&rec, &cols))
			if cols.Len() >= DefaultBatchRows {
				cols.Reset()
			}
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
