package sse

import (
	"strings"
	"testing"
)

func BenchmarkSSE(b *testing.B) {
	head := `data: {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"`
	tail := `"}}` + "\n\n"
	ev := "event: message\nid: 12345\n" + head + strings.Repeat("x", 1024-len(head)-len(tail)-25) + tail
	in := []byte(strings.Repeat(ev, 4096)) // 4 MiB of 1 KiB events
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var n int
		p, err := New(func(Event) { n++ }, Options{})
		if err != nil {
			b.Fatal(err)
		}
		// Feed in 32 KiB writes, like a proxy copying a response body.
		for i := 0; i < len(in); i += 32 << 10 {
			p.Write(in[i:min(i+32<<10, len(in))])
		}
		if err := p.Close(); err != nil || n != 4096 {
			b.Fatalf("%d events, close: %v", n, err)
		}
	}
}
