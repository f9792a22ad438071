package mcp

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

func TestParseKinds(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		kind    Kind
		method  Method
		id      ID
		invalid string
	}{
		{"request", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}`, KindRequest, ToolsCall, "7", ""},
		{"string id", `{"jsonrpc":"2.0","id":"a-1","method":"ping"}`, KindRequest, Ping, `"a-1"`, ""},
		{"notification", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, KindNotification, NotificationInitialized, "", ""},
		{"result", `{"jsonrpc":"2.0","id":7,"result":{}}`, KindResult, "", "7", ""},
		{"error", `{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"Method not found"}}`, KindError, "", "7", ""},
		{"error with null id", `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`, KindError, "", "null", ""},
		{"wrong version", `{"jsonrpc":"1.0","id":1,"method":"ping"}`, KindInvalid, Ping, "1", `"jsonrpc"`},
		{"missing version", `{"id":1,"method":"ping"}`, KindInvalid, Ping, "1", `"jsonrpc"`},
		{"object id", `{"jsonrpc":"2.0","id":{},"method":"ping"}`, KindInvalid, Ping, "{}", "string or a number"},
		{"null request id", `{"jsonrpc":"2.0","id":null,"method":"ping"}`, KindInvalid, Ping, "null", "null"},
		{"request with result", `{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}`, KindInvalid, Ping, "1", "must not carry"},
		{"result and error", `{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}`, KindInvalid, "", "1", "both"},
		{"response without id", `{"jsonrpc":"2.0","result":{}}`, KindInvalid, "", "", "must carry an id"},
		{"empty object", `{"jsonrpc":"2.0"}`, KindInvalid, "", "", "neither"},
		{"malformed error", `{"jsonrpc":"2.0","id":1,"error":"boom"}`, KindInvalid, "", "1", "error object"},
		{"empty method", `{"jsonrpc":"2.0","method":""}`, KindInvalid, "", "", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, batch, err := Parse([]byte(tt.raw))
			if err != nil || batch || len(msgs) != 1 {
				t.Fatalf("Parse: %v, batch %v, %d messages", err, batch, len(msgs))
			}
			m := msgs[0]
			if m.Kind != tt.kind || m.Method != tt.method || m.ID != tt.id {
				t.Errorf("got kind %q method %q id %q, want %q %q %q", m.Kind, m.Method, m.ID, tt.kind, tt.method, tt.id)
			}
			if tt.invalid == "" && m.Invalid != "" || tt.invalid != "" && !strings.Contains(m.Invalid, tt.invalid) {
				t.Errorf("invalid reason %q, want one containing %q", m.Invalid, tt.invalid)
			}
		})
	}
}

func TestParseBatch(t *testing.T) {
	msgs, batch, err := Parse([]byte(`[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}},5]`))
	if err != nil || !batch || len(msgs) != 3 {
		t.Fatalf("Parse: %v, batch %v, %d messages", err, batch, len(msgs))
	}
	want := []Kind{KindRequest, KindNotification, KindInvalid}
	for i, m := range msgs {
		if m.Kind != want[i] {
			t.Errorf("element %d: kind %q, want %q", i, m.Kind, want[i])
		}
	}
}

func TestParseRejectsNonObjects(t *testing.T) {
	for _, raw := range []string{`"x"`, `3`, ``, `{"jsonrpc":`, `[{"jsonrpc":"2.0"`} {
		if _, _, err := Parse([]byte(raw)); err == nil {
			t.Errorf("Parse(%q): no error", raw)
		}
	}
}

func TestTarget(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send_email","arguments":{}}}`, "send_email"},
		{`{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"review"}}`, "review"},
		{`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///etc/passwd"}}`, "file:///etc/passwd"},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}`, ""},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, ""},
		{`{"jsonrpc":"2.0","id":1,"result":{"name":"x"}}`, ""},
	}
	for _, tt := range tests {
		msgs, _, err := Parse([]byte(tt.raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := msgs[0].Target(); got != tt.want {
			t.Errorf("%s: Target %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestListedTools(t *testing.T) {
	got := ListedTools([]byte(`{"tools":[{"name":"a","description":"x"},{"name":"b"}],"nextCursor":"c"}`))
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("got %v", got)
	}
	if got := ListedTools([]byte(`{"tools":"nope"}`)); got != nil {
		t.Errorf("malformed listing gave %v", got)
	}
}

// TestParseSlicesExactly checks the raw values Parse returns on spaced-out
// JSON, escaped member names, tool errors and trailing data.
func TestParseSlicesExactly(t *testing.T) {
	raw := " {\n \"jsonrpc\" : \"2.0\" ,\t\"id\" : \"a\\u0031\" , \"method\":\"tools/call\",\"params\" : {\"n\\u0061me\": \"send_email\", \"arguments\": {\"to\": \"x@example.test\"}} }\n"
	msgs, _, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.Kind != KindRequest || m.ID != `"a\u0031"` || m.Target() != "send_email" ||
		string(m.Params) != `{"n\u0061me": "send_email", "arguments": {"to": "x@example.test"}}` {
		t.Errorf("got kind %s id %s target %q params %s", m.Kind, m.ID, m.Target(), m.Params)
	}
	res, _, err := Parse([]byte(`{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"isError"}],"isError" : true}}`))
	if err != nil || !res[0].ToolError || string(res[0].Result) != `{"content":[{"type":"text","text":"isError"}],"isError" : true}` {
		t.Errorf("tool error: %v %+v", err, res)
	}
	ok, _, _ := Parse([]byte(`{"jsonrpc":"2.0","id":3,"result":{"isError":false,"nested":{"isError":true}}}`))
	if ok[0].ToolError {
		t.Error("isError false (or nested) counted as a tool error")
	}
	for _, bad := range []string{`{"jsonrpc":"2.0","id":1,"method":"ping"} {}`, `[{"jsonrpc":"2.0","method":"x"}] 1`, `{"a":1,"a":2}`} {
		if _, _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s): no error", bad)
		}
	}
}

// TestAppendDecode walks messages inside a larger JSON text and checks
// that it finds what Parse finds given the message alone, leaving the
// decoder after the message.
func TestAppendDecode(t *testing.T) {
	for _, raw := range []string{
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"send_email","arguments":{"to":"x"}}}`,
		"{ \"jsonrpc\" : \"2.0\" , \"id\" : \"a\\u0031\" , \"method\" : \"resources/read\" , \"params\" : {\"uri\":\"file:///x\"} }",
		`{"jsonrpc":"2.0","id":2,"result":{"content":[],"isError":true}}`,
		`{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no such method"}}`,
		`{"jsonrpc":"2.0","id":4,"error":"boom"}`,
		`{"jsonrpc":"1.0","method":"x"}`,
		`[{"jsonrpc":"2.0","id":1,"method":"tools/list"},5,{"jsonrpc":"2.0","method":"notifications/progress"}]`,
		`[]`,
	} {
		in := []byte(`{"before":[1,{"id":2}],"msg":` + raw + `,"after":true}`)
		dec := jsontext.NewDecoder(bytes.NewBuffer(in))
		for _, want := range []string{"{", `"before"`, "[1,{\"id\":2}]", `"msg"`} {
			var got string
			if want == "{" {
				tok, err := dec.ReadToken()
				if err != nil {
					t.Fatal(err)
				}
				got = tok.String()
			} else {
				v, err := dec.ReadValue()
				if err != nil {
					t.Fatal(err)
				}
				got = string(v)
			}
			if got != want {
				t.Fatalf("read %s, want %s", got, want)
			}
		}
		msgs, value, batch, err := AppendDecode(nil, dec, in)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		wantMsgs, wantBatch, err := Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if string(value) != raw || batch != wantBatch || !reflect.DeepEqual(msgs, wantMsgs) {
			t.Errorf("%s:\ngot  %s batch %v %+v\nwant batch %v %+v", raw, value, batch, msgs, wantBatch, wantMsgs)
		}
		if name, err := dec.ReadValue(); err != nil || string(name) != `"after"` {
			t.Errorf("%s: decoder not left after the message: %s %v", raw, name, err)
		}
	}
}

// TestAppendDecodeRejects: a duplicate member anywhere in the message, or
// a value that is not an object or array, is an error.
func TestAppendDecodeRejects(t *testing.T) {
	for _, raw := range []string{
		`{"jsonrpc":"2.0","jsonrpc":"2.0","method":"x"}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"x":1,"x":2}}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"content":[{"t":1,"t":1}]}}`,
		`"x"`,
	} {
		in := []byte(`{"msg":` + raw + `}`)
		dec := jsontext.NewDecoder(bytes.NewBuffer(in))
		if _, err := dec.ReadToken(); err != nil {
			t.Fatal(err)
		}
		if _, err := dec.ReadValue(); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := AppendDecode(nil, dec, in); err == nil {
			t.Errorf("%s: no error", raw)
		}
	}
}

func TestInfoOfParsedMethods(t *testing.T) {
	for _, raw := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`,
		`{"jsonrpc":"2.0","method":"notifications/custom"}`,
		`{"jsonrpc":"2.0","id":2,"method":"vendor/thing"}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools\/list"}`,
	} {
		msgs, _, err := Parse([]byte(raw))
		if err != nil {
			t.Fatalf("Parse(%s): %v", raw, err)
		}
		m := &msgs[0]
		if got, want := m.Info(), Lookup(m.Method); got != want {
			t.Errorf("Parse(%s).Info() = %+v, want %+v", raw, got, want)
		}
		m.Method = ToolsList // a message changed after parsing describes its new method
		if got, want := m.Info(), Lookup(ToolsList); got != want {
			t.Errorf("after a change of method, Info() = %+v, want %+v", got, want)
		}
	}
}
