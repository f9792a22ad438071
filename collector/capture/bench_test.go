package capture

import (
	"context"
	"strings"
	"testing"

	"github.com/mcptrail/mcptrail/collector/redact"
	"github.com/mcptrail/mcptrail/schemas"
)

type discardSink struct{}

func (discardSink) Write(string, []byte) error  { return nil }
func (discardSink) Close(context.Context) error { return nil }

// BenchmarkRecorderMessage is the capture cost of one 1 KiB tools/call
// message: check, redact, learn, seal, encode.
func BenchmarkRecorderMessage(b *testing.B) {
	red, err := redact.New(redact.Config{SiteKey: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		b.Fatal(err)
	}
	r, err := New(Config{Host: "h", Server: schemas.Server{Name: "s"}, Transport: schemas.TransportStdio, Sink: discardSink{}, Redactor: red})
	if err != nil {
		b.Fatal(err)
	}
	r.Message("s1", schemas.ClientToServer, []byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"clientInfo":{"name":"c","version":"1"}}}`))
	r.Message("s1", schemas.ServerToClient, []byte(`{"jsonrpc":"2.0","id":0,"result":{"serverInfo":{"name":"s","version":"2"}}}`))
	line := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_text_file","arguments":{"path":"/home/ana/notes/` + strings.Repeat("n", 900) + `.md"}}}`)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		r.Message("s1", schemas.ClientToServer, line)
	}
}
