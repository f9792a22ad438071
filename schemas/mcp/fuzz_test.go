package mcp

import (
	"bytes"
	"io"
	"reflect"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, and every
// message it returns has a kind, with a reason exactly when it is invalid,
// and the description of its method that Lookup gives.
// AppendDecode, given the same bytes as a member of an object, must agree
// with Parse. The kept corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}`))
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"result":{"tools":[]}},{"jsonrpc":"2.0","method":"notifications/progress"}]`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		msgs, batch, err := Parse(raw)
		checkDecode(t, raw, msgs, batch, err)
		if err != nil {
			return
		}
		for _, m := range msgs {
			if m.Kind == "" || (m.Kind == KindInvalid) != (m.Invalid != "") {
				t.Fatalf("inconsistent message %+v", m)
			}
			_ = m.Target()
			if got, want := m.Info(), Lookup(m.Method); got != want {
				t.Fatalf("Info() = %+v, Lookup(%q) = %+v", got, m.Method, want)
			}
		}
	})
}

// checkDecode walks raw as the value of an object member with AppendDecode
// and checks that it finds what Parse found: the same messages, or an
// error.
func checkDecode(t *testing.T, raw []byte, msgs []Message, batch bool, parseErr error) {
	t.Helper()
	in := append(append([]byte(`{"msg":`), raw...), '}')
	dec := jsontext.NewDecoder(bytes.NewBuffer(in))
	if _, err := dec.ReadToken(); err != nil {
		t.Fatal(err)
	}
	if _, err := dec.ReadValue(); err != nil {
		t.Fatal(err)
	}
	got, value, gotBatch, err := AppendDecode(nil, dec, in)
	if err != nil {
		if parseErr == nil && jsontext.Value(raw).IsValid() {
			t.Fatalf("Parse accepted %q, AppendDecode did not: %v", raw, err)
		}
		return
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return // raw was more than one value: Parse rejects it
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return // likewise
	}
	if parseErr != nil {
		t.Fatalf("AppendDecode accepted %q, Parse did not: %v", raw, parseErr)
	}
	if !bytes.Equal(value, bytes.TrimSpace(raw)) || gotBatch != batch || !reflect.DeepEqual(got, msgs) {
		t.Fatalf("%q: AppendDecode found %s batch %v %+v; Parse batch %v %+v", raw, value, gotBatch, got, batch, msgs)
	}
}
