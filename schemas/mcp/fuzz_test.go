package mcp

import "testing"

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, and every
// message it returns has a kind, with a reason exactly when it is invalid.
// The kept corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}`))
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"result":{"tools":[]}},{"jsonrpc":"2.0","method":"notifications/progress"}]`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		msgs, _, err := Parse(raw)
		if err != nil {
			return
		}
		for _, m := range msgs {
			if m.Kind == "" || (m.Kind == KindInvalid) != (m.Invalid != "") {
				t.Fatalf("inconsistent message %+v", m)
			}
			_ = m.Target()
			_ = m.Info()
		}
	})
}
