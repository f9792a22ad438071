package schemas

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/mcptrail/mcptrail/schemas/mcp"
)

func TestNewEvents(t *testing.T) {
	recs, errs := readAll(t, readFile(t, "testdata/sample.capture.jsonl"))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	var events []Event
	for _, rec := range recs {
		events = append(events, NewEvents(rec)...)
	}
	// 25 records: 23 messages (two batches of two) plus 2 HTTP-only and
	// OAuth records... counted by kind below.
	byKind := map[EventKind]int{}
	for _, ev := range events {
		byKind[ev.Kind]++
	}
	want := map[EventKind]int{"request": 10, "result": 9, "notification": 3, "error": 1, EventAuth: 3, EventHTTP: 1}
	for k, n := range want {
		if byKind[k] != n {
			t.Errorf("%d events of kind %s, want %d (all: %v)", byKind[k], k, n, byKind)
		}
	}
	find := func(pred func(Event) bool) Event {
		t.Helper()
		for _, ev := range events {
			if pred(ev) {
				return ev
			}
		}
		t.Fatal("no such event")
		return Event{}
	}
	call := find(func(e Event) bool { return e.Method == mcp.ToolsCall && e.BatchIndex == 0 })
	if call.Target != "read_text_file" || call.RPCID != "3" || call.Category != mcp.CategoryTools || call.MsgBytes == 0 ||
		!strings.Contains(string(call.Params), "trip-plan.md") || call.ClientName != "claude-desktop" {
		t.Errorf("batched tools/call event is wrong: %+v", call)
	}
	denied := find(func(e Event) bool { return e.Kind == "error" })
	if !denied.IsError || denied.ErrorCode != -32602 || !strings.Contains(denied.ErrorMessage, "Access denied") {
		t.Errorf("error event is wrong: %+v", denied)
	}
	read := find(func(e Event) bool { return e.Method == mcp.ResourcesRead })
	if read.Target != "repo://acme/infra/contents/main.tf" || read.Token == nil || read.Token.Aud[0] != "https://mcp.example.com/github" ||
		read.HTTPMethod != "POST" || read.Transport != TransportStreamableHTTP {
		t.Errorf("resources/read event is wrong: %+v", read)
	}
}

func TestNewEventsToolError(t *testing.T) {
	line := strings.Replace(goodLine, `"msg":{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"path":"secrets.env"}}}`,
		`"msg":{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"no such repo"}],"isError":true}}`, 1)
	recs, errs := readAll(t, line)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	ev := NewEvents(recs[0])
	if len(ev) != 1 || ev[0].Kind != "result" || !ev[0].IsError {
		t.Errorf("tool result with isError: %+v", ev)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAppendParsedEvents(t *testing.T) {
	recs, errs := readAll(t, readFile(t, "testdata/sample.capture.jsonl"))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	// Messages that are not JSON-RPC objects or batches, and data after
	// the message, give an invalid event with the parse error.
	for _, msg := range []string{`"text"`, `42`, `{"jsonrpc":"2.0","id":1,"result":{}} {}`} {
		recs = append(recs, &Record{V: 1, Session: "s", Dir: ClientToServer, Msg: []byte(msg)})
	}
	for i, rec := range recs {
		// Parse equal bytes elsewhere, as a cache keyed by content would.
		msgs, batch, err := mcp.AppendParse(nil, bytes.Clone(rec.Msg))
		got := AppendParsedEvents(nil, rec, msgs, batch, err)
		if want := NewEvents(rec); !reflect.DeepEqual(got, want) {
			t.Errorf("record %d: AppendParsedEvents\n%+v\nNewEvents\n%+v", i, got, want)
		}
	}
}
