package detector

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mcptrail/mcptrail/schemas"
)

// TestParsedEvents checks that the events the engine builds from its
// parse cache are schemas.NewEvents', for every record of the incident
// captures seen twice (a hit), for messages that are no JSON-RPC, batches,
// and a message too long to keep.
func TestParsedEvents(t *testing.T) {
	var recs []schemas.Record
	paths, err := filepath.Glob(filepath.Join("testdata", "incidents", "*.jsonl"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("incident captures: %v", err)
	}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		r := schemas.NewReader(f)
		for {
			var rec schemas.Record
			err := r.NextInto(&rec)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			recs = append(recs, rec)
		}
		f.Close()
	}
	long := `{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"` + strings.Repeat("x", maxCachedMessage) + `"}]}}`
	// Two messages whose sampledKeys are equal: they differ at a byte no
	// sample reads.
	twin := func(c string) string {
		return `{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"` + strings.Repeat("y", 2000) + c + strings.Repeat("y", 2000) + `"}]}}`
	}
	if a, b := twin("a"), twin("b"); sampledKey([]byte(a)) != sampledKey([]byte(b)) {
		t.Fatalf("the twin messages' keys differ: the test no longer has two messages with one key")
	}
	for _, msg := range []string{
		twin("a"), twin("b"),
		`"not a message"`,
		`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"q":"x"}}},{"jsonrpc":"2.0","method":"notifications/initialized"},7]`,
		long,
	} {
		recs = append(recs, schemas.Record{V: 1, Session: "s", Dir: schemas.ServerToClient, Msg: []byte(msg)})
	}
	mc := newMessageCache()
	for round := range 2 {
		for i := range recs {
			rec := &recs[i]
			if len(rec.Msg) == 0 {
				continue
			}
			// A copy, so that a hit is served from other bytes.
			rec.Msg = bytes.Clone(rec.Msg)
			p := mc.parse(rec.Msg)
			got := schemas.AppendParsedEvents(nil, rec, p.msgs, p.batch, p.err)
			if want := schemas.NewEvents(rec); !reflect.DeepEqual(got, want) {
				t.Errorf("round %d, record %d: parsed events\n%+v\nwant\n%+v", round, i, got, want)
			}
		}
	}
	if p := mc.parse([]byte(long)); p == mc.parse([]byte(long)) {
		t.Error("a message longer than maxCachedMessage was kept")
	}
}

// TestToolListOfServer checks that a tools/list result a parsed message
// keeps is the list of the server that sent it: the same bytes from
// another server list that server's tools.
func TestToolListOfServer(t *testing.T) {
	mc := newMessageCache()
	msg := []byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"send_email","description":"Sends.","inputSchema":{"type":"object"}}]}}`)
	for _, server := range []string{"mail", "mail", "evil", "mail"} {
		p := mc.parse(msg)
		list := p.toolList(mc, 0, server)
		if list.server != server || len(list.tools) != 1 || list.tools[0].Server != server {
			t.Fatalf("list of %q: server %q, tools %+v", server, list.server, list.tools)
		}
		if again := p.toolList(mc, 0, server); again != list {
			t.Errorf("list of %q is decoded again on a second look-up", server)
		}
	}
}
