package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/schemas"
)

// memSink keeps lines in memory; it fails while fail is set.
type memSink struct {
	mu    sync.Mutex
	lines [][]byte
	keys  []string
	fail  bool
}

func (m *memSink) Write(key string, line []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("sink full")
	}
	m.lines = append(m.lines, append([]byte(nil), line...))
	m.keys = append(m.keys, key)
	return nil
}

func (m *memSink) Close(context.Context) error { return nil }

// records reads the sink's lines back with the capture reader and checks
// their chain.
func (m *memSink) records(t *testing.T) []*schemas.Record {
	t.Helper()
	recs, problems := m.read(t)
	if len(problems) > 0 {
		t.Fatalf("chain broken: %v", problems)
	}
	return recs
}

// read reads the sink's lines back and returns them with the chain's
// problems.
func (m *memSink) read(t *testing.T) ([]*schemas.Record, []schemas.ChainProblem) {
	t.Helper()
	r := schemas.NewReader(bytes.NewReader(append(bytes.Join(m.lines, []byte("\n")), '\n')))
	checker := schemas.NewChainChecker()
	var out []*schemas.Record
	var all []schemas.ChainProblem
	for {
		rec, err := r.Next()
		if err != nil {
			if !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("line %d does not read back: %v", r.Line(), err)
			}
			return out, all
		}
		problems, err := checker.Check(rec)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, problems...)
		out = append(out, rec)
	}
}

// upperRedactor replaces the JSON string "hunter2" and says where.
type upperRedactor struct{}

func (upperRedactor) Redact(prefix string, v []byte) ([]byte, []string, error) {
	if !bytes.Contains(v, []byte("hunter2")) {
		return v, nil, nil
	}
	return bytes.ReplaceAll(v, []byte("hunter2"), []byte("[REDACTED:password:abc]")), []string{prefix + ".x"}, nil
}

func newRecorder(t *testing.T, sink Sink, red Redactor) *Recorder {
	t.Helper()
	clock := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	r, err := New(Config{
		Host: "laptop-7", Server: schemas.Server{Name: "everything", Command: "npx server-everything"},
		Transport: schemas.TransportStdio, Stream: "stream-1", Sink: sink, Redactor: red,
		Now: func() time.Time { clock = clock.Add(time.Millisecond); return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecorderLearnsFromInitialize(t *testing.T) {
	sink := &memSink{}
	r := newRecorder(t, sink, nil)
	c2s, s2c := schemas.ClientToServer, schemas.ServerToClient
	r.Message("s1", c2s, []byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","clientInfo":{"name":"claude-code","version":"2.1"}}}`))
	r.Message("s1", s2c, []byte(`{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","serverInfo":{"name":"example-servers/everything","version":"1.0.0"}}}`))
	r.Message("s1", c2s, []byte(`[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/initialized"}]`))
	r.Message("s2", c2s, []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	recs := sink.records(t)
	if len(recs) != 4 {
		t.Fatalf("got %d records", len(recs))
	}
	for i, want := range []struct {
		client, version string
	}{{"claude-code", ""}, {"claude-code", "1.0.0"}, {"claude-code", "1.0.0"}, {"", ""}} {
		rec := recs[i]
		got := ""
		if rec.Client != nil {
			got = rec.Client.Name
		}
		if got != want.client || rec.Server.Version != want.version {
			t.Errorf("record %d: client %q version %q, want %q %q", i, got, rec.Server.Version, want.client, want.version)
		}
		if rec.Host != "laptop-7" || rec.Server.Name != "everything" || rec.Server.Command == "" || rec.Stream != "stream-1" || rec.Seq != uint64(i+1) {
			t.Errorf("record %d: common fields wrong: %+v", i, rec)
		}
	}
	if sink.keys[3] != "s2" || recs[2].Msg.Kind() != '[' {
		t.Errorf("keys %v, batch kept as %s", sink.keys, recs[2].Msg)
	}
}

func TestRecorderNotJSONAndRedaction(t *testing.T) {
	sink := &memSink{}
	r := newRecorder(t, sink, upperRedactor{})
	notJSON := `Starting server... password=hunter2 ` + strings.Repeat("x", 400)
	r.Message("s1", schemas.ServerToClient, []byte(notJSON))
	r.Message("s1", schemas.ClientToServer, []byte(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"login","arguments":{"password":"hunter2"}}}`))
	r.Message("s1", schemas.ClientToServer, []byte(`"just a string"`))
	recs := sink.records(t)
	if len(recs) != 3 {
		t.Fatalf("got %d records", len(recs))
	}
	pe := recs[0].ParseError
	if pe == nil || !strings.HasPrefix(pe.Reason, "not JSON") || pe.Bytes != len(notJSON) || len(pe.Excerpt) > maxExcerpt+20 ||
		strings.Contains(pe.Excerpt, "hunter2") || !strings.Contains(pe.Excerpt, "[REDACTED:password:abc]") {
		t.Errorf("parse error record: %+v", pe)
	}
	if strings.Contains(string(recs[1].Msg), "hunter2") || len(recs[1].Redacted) != 1 || recs[1].Redacted[0] != "msg.x" {
		t.Errorf("message not redacted: %s %v", recs[1].Msg, recs[1].Redacted)
	}
	if recs[2].ParseError == nil || !strings.Contains(recs[2].ParseError.Reason, "not a JSON-RPC message") {
		t.Errorf("a JSON string is not a message: %+v", recs[2])
	}
	for _, l := range sink.lines {
		if bytes.Contains(l, []byte("hunter2")) {
			t.Fatalf("secret left the recorder: %s", l)
		}
	}
}

func TestRecorderDropsWhenSinkFails(t *testing.T) {
	sink := &memSink{fail: true}
	r := newRecorder(t, sink, nil)
	for range 3 {
		r.Message("s1", schemas.ClientToServer, []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	}
	sink.fail = false
	r.Message("s1", schemas.ClientToServer, []byte(`{"jsonrpc":"2.0","id":2,"method":"ping"}`))
	if st := r.Stats(); st.Dropped != 3 || st.Records != 1 {
		t.Errorf("stats %+v, want 3 dropped and 1 recorded", st)
	}
	// Dropped records were sealed before the sink refused them, so the
	// stream shows a gap of 3 where they were lost: loss stays visible.
	recs, problems := sink.read(t)
	if len(recs) != 1 || recs[0].Seq != 4 || len(problems) != 1 || problems[0].Kind != schemas.ChainGap || problems[0].To != 3 {
		t.Fatalf("got %d records (first seq %d) and problems %v; want seq 4 after a gap of 1..3", len(recs), recs[0].Seq, problems)
	}
}

// TestRecorderConcurrent records from two goroutines: every record arrives,
// and the chain (checked by records) follows delivery order.
func TestRecorderConcurrent(t *testing.T) {
	sink := &memSink{}
	r := newRecorder(t, sink, nil)
	var wg sync.WaitGroup
	for _, dir := range []schemas.Direction{schemas.ClientToServer, schemas.ServerToClient} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				r.Message("s1", dir, []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"ping"}`, i)))
			}
		}()
	}
	wg.Wait()
	recs := sink.records(t)
	if len(recs) != 1000 {
		t.Fatalf("got %d records, want 1000", len(recs))
	}
	for i := 1; i < len(recs); i++ {
		if !recs[i].TS.After(recs[i-1].TS) {
			t.Fatalf("seq %d has ts %v, not after seq %d's %v", recs[i].Seq, recs[i].TS, recs[i-1].Seq, recs[i-1].TS)
		}
	}
}
