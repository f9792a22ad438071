package seqmodel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// trainSeqs trains a model on sequences of "server/tool" calls, one
// session each, all of client "c".
func trainSeqs(t *testing.T, seqs ...[]string) *Model {
	t.Helper()
	tr := NewTrainer(TrainOptions{})
	for i, seq := range seqs {
		id := fmt.Sprintf("s%d", i)
		for _, call := range seq {
			server, tool, _ := strings.Cut(call, "/")
			tr.AddCall(id, "c", server, tool)
		}
		tr.EndSession(id)
	}
	return tr.Model()
}

func repeat(n int, seq []string) [][]string {
	out := make([][]string, n)
	for i := range out {
		out[i] = seq
	}
	return out
}

func TestTrainCounts(t *testing.T) {
	m := trainSeqs(t, append(repeat(40, []string{"a/list", "a/read", "b/send"}), []string{"a/list", "b/send"})...)
	keys := Keys("c", []string{"a", "b"})
	if got := m.Context(keys[0]).Count("a/read", "b/send"); got != 40 {
		t.Errorf("count a/read -> b/send in %q = %d, want 40", keys[0], got)
	}
	if got := m.Context(GlobalKey).Count(Start, "a/list"); got != 41 {
		t.Errorf("global start -> a/list = %d, want 41", got)
	}
	if c := m.Context(ClientKey("c")); c.Sessions != 41 || c.Calls != 122 || c.Servers["b"] != 41 {
		t.Errorf("client context sessions %d calls %d servers %v", c.Sessions, c.Calls, c.Servers)
	}
	// a/list -> b/send happens once in 41: with enough context it is improbable.
	p, _, ok := m.Transition(keys[:], "a/list", "b/send", 30)
	if !ok || p > 0.05 {
		t.Errorf("p(a/list -> b/send) = %v ok=%v, want small", p, ok)
	}
	if p, _, ok := m.Transition(keys[:], "a/list", "a/read", 30); !ok || p < 0.9 {
		t.Errorf("p(a/list -> a/read) = %v, want high", p)
	}
	if _, _, ok := m.Transition(keys[:], "a/list", "a/read", 1000); ok {
		t.Error("transition judged without enough context")
	}
	typ := m.Typical(keys[:], 10)
	if typ == nil || typ.N != 40 || typ.Mean > 0 || typ.Mean < -1 {
		t.Errorf("typical score %+v, want 40 sessions near 0", typ)
	}
	odd := []Call{{Keys: Keys("c", []string{"a"}), Token: "a/read"}, {Keys: keys, Token: "b/send"}, {Keys: keys, Token: "a/list"}, {Keys: keys, Token: "b/send"}}
	if mean, n := Score(m, odd); n != 3 || mean > typ.Mean-2 {
		t.Errorf("odd sequence scores %.2f over %d, typical %.2f", mean, n, typ.Mean)
	}
}

func TestSaveLoad(t *testing.T) {
	m := trainSeqs(t, repeat(12, []string{"a/list", "a/read", "b/send"})...)
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	keys := Keys("c", []string{"a", "b"})
	p1, _, _ := m.Transition(keys[:], "a/read", "b/send", 1)
	p2, _, ok := m2.Transition(keys[:], "a/read", "b/send", 1)
	if !ok || p1 != p2 {
		t.Errorf("after load p = %v, before %v", p2, p1)
	}
	var again bytes.Buffer
	if err := m2.Save(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("save is not deterministic across a load")
	}
	path := t.TempDir() + "/m.json"
	if err := m.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path + ".missing"); err == nil {
		t.Error("loading a missing file succeeded")
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{``, "not a valid sequence model"},
		{`[1,2]`, "not a valid sequence model"},
		{`{"format":"other","version":1}`, `format is "other"`},
		{`{"format":"mcptrail-seqmodel"}`, "bad version 0"},
		{`{"format":"mcptrail-seqmodel","version":2}`, "newer than this build reads"},
		{`{"format":"mcptrail-seqmodel","version":1,"alpha":0}`, "alpha"},
		{`{"format":"mcptrail-seqmodel","version":1,"alpha":0.5,"contexts":{"k":null}}`, "is null"},
		{`{"format":"mcptrail-seqmodel","version":1,"alpha":0.5,"contexts":{"k":{"transitions":{"^":{"a/b":-1}}}}}`, "bad count"},
		{`{"format":"mcptrail-seqmodel","version":1,"alpha":0.5,"contexts":{"k":{"score":{"n":1,"mean":1,"std":-1}}}}`, "bad score"},
		{`{"format":"mcptrail-seqmodel","version":1,"alpha":0.5,"contexts":{"k":{"tools":{"x":"y"}}}}`, "not a valid sequence model"},
	}
	for _, tc := range cases {
		_, err := Load(strings.NewReader(tc.in))
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%s) = %v, want an ErrFormat with %q", tc.in, err, tc.want)
		}
	}
}

func FuzzLoad(f *testing.F) {
	var buf bytes.Buffer
	tr := NewTrainer(TrainOptions{})
	for i := range 4 {
		tr.AddCall(fmt.Sprint(i), "c", "a", "x")
		tr.AddCall(fmt.Sprint(i), "c", "b", "y")
	}
	if err := tr.Model().Save(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"format":"mcptrail-seqmodel","version":1,"alpha":0.5,"contexts":{"k":{"transitions":{"^":{"a/b":1}}}}}`))
	f.Add([]byte(`{"format":"mcptrail-seqmodel","version":1,"alpha":1e308}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Load(bytes.NewReader(b))
		if err != nil {
			return
		}
		// A model that loads must be usable and round-trip.
		keys := Keys("c", []string{"a", "b"})
		for _, c := range m.Contexts {
			for prev, next := range c.Transitions {
				for tok := range next {
					if p, _, ok := m.Transition(keys[:], prev, tok, 1); ok && (math.IsNaN(p) || p < 0) {
						t.Fatalf("bad probability %v", p)
					}
				}
			}
		}
		Score(m, []Call{{Keys: keys, Token: "a/x"}})
		var out bytes.Buffer
		if err := m.Save(&out); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(&out); err != nil {
			t.Fatalf("saved model does not load: %v", err)
		}
	})
}

const captureLines = `{"v":1,"ts":"2026-10-01T09:00:00Z","host":"h","session":"s1","client":{"name":"c"},"server":{"name":"a"},"transport":"stdio","dir":"c2s","msg":{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list","arguments":{}}}}
{"v":1,"ts":"2026-10-01T09:00:01Z","host":"h","session":"s1","client":{"name":"c"},"server":{"name":"a"},"transport":"stdio","dir":"s2c","msg":{"jsonrpc":"2.0","id":1,"result":{"content":[]}}}
not json
{"v":1,"ts":"2026-10-01T09:00:02Z","host":"h","session":"s2","client":{"name":"c"},"server":{"name":"b"},"transport":"stdio","dir":"c2s","msg":[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send","arguments":{}}},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]}
{"v":1,"ts":"2026-10-01T09:00:03Z","host":"h","session":"s1","client":{"name":"c"},"server":{"name":"b"},"transport":"stdio","dir":"c2s","msg":{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"send","arguments":{}}}}
`

func TestTrainCapture(t *testing.T) {
	m, st, err := TrainCapture(context.Background(), strings.NewReader(captureLines), TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.BadLines != 1 || st.Sessions != 2 || st.Calls != 3 || st.Records != 4 {
		t.Errorf("stats %+v", st)
	}
	if got := m.Context(Key("c", []string{"a", "b"})).Count("a/list", "b/send"); got != 1 {
		t.Errorf("a/list -> b/send counted %d, want 1", got)
	}
	if got := m.Context(Key("c", []string{"b"})).Count(Start, "b/send"); got != 1 {
		t.Errorf("start -> b/send in a batch counted %d, want 1", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := TrainCapture(ctx, strings.NewReader(captureLines), TrainOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled training: %v", err)
	}
}

type fakeRows struct {
	rows [][5]any
	i    int
	err  error
}

func (r *fakeRows) Next() bool { r.i++; return r.i <= len(r.rows) }
func (r *fakeRows) Scan(dest ...any) error {
	row := r.rows[r.i-1]
	for i, d := range dest[:4] {
		*(d.(*string)) = row[i].(string)
	}
	*(dest[4].(*time.Time)) = row[4].(time.Time)
	return nil
}
func (r *fakeRows) Err() error   { return r.err }
func (r *fakeRows) Close() error { return nil }

func TestTrainClickHouse(t *testing.T) {
	ts := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	rows := &fakeRows{rows: [][5]any{
		{"s1", "c", "a", "list", ts}, {"s1", "c", "a", "read", ts.Add(time.Second)},
		{"s2", "c", "a", "list", ts}, {"s2", "c", "b", "send", ts.Add(time.Second)},
	}}
	var gotQuery string
	var gotArgs []any
	q := QueryFunc(func(_ context.Context, query string, args ...any) (Rows, error) {
		gotQuery, gotArgs = query, args
		return rows, nil
	})
	m, st, err := TrainClickHouse(context.Background(), q, ts, ts.Add(time.Hour), TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if gotQuery != CallsQuery || len(gotArgs) != 2 || strings.Count(CallsQuery, "?") != 2 || !strings.Contains(CallsQuery, "ORDER BY session, ts") {
		t.Errorf("query %q args %v", gotQuery, gotArgs)
	}
	if st.Sessions != 2 || st.Calls != 4 {
		t.Errorf("stats %+v", st)
	}
	if got := m.Context(ClientKey("c")).Count("a/list", "a/read"); got != 1 {
		t.Errorf("a/list -> a/read = %d", got)
	}
	if got := m.Context(ClientKey("c")).Count("a/read", "a/list"); got != 0 {
		t.Errorf("sessions ran together: a/read -> a/list = %d", got)
	}
	q = QueryFunc(func(context.Context, string, ...any) (Rows, error) { return nil, errors.New("boom") })
	if _, _, err := TrainClickHouse(context.Background(), q, ts, ts, TrainOptions{}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("query error: %v", err)
	}
	rows = &fakeRows{err: errors.New("broken")}
	q = QueryFunc(func(context.Context, string, ...any) (Rows, error) { return rows, nil })
	if _, _, err := TrainClickHouse(context.Background(), q, ts, ts, TrainOptions{}); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("rows error: %v", err)
	}
}
