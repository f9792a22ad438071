package sse

import "testing"

func FuzzSSE(f *testing.F) {
	f.Add([]byte("event: endpoint\ndata: /messages\n\n"), []byte{0}, uint8(255))
	f.Add([]byte("\xEF\xBB\xBFid: 1\r\ndata: {\"a\":1}\r\n\r\n: c\rdata\r\r"), []byte{1, 2}, uint8(4))
	f.Add([]byte("retry: 100\ndata: a\ndata: b\n\nid:\x00\ndata\n"), []byte{3}, uint8(1))
	f.Fuzz(func(t *testing.T, in, cuts []byte, maxEvent uint8) {
		m := int(maxEvent) + 1
		whole := parse(t, in, m)
		chunks := make([]int, len(cuts))
		for i, c := range cuts {
			chunks[i] = int(c) + 1
		}
		if d := diff(whole, parse(t, in, m, chunks...)); d != "" {
			t.Fatalf("split feed differs from whole feed: %s", d)
		}
		if d := diff(whole, parse(t, in, m, 1)); d != "" {
			t.Fatalf("byte-by-byte feed differs from whole feed: %s", d)
		}
		// With no limit in reach, the parser must agree with the plain
		// reference interpretation.
		big := parse(t, in, len(in)+1, chunks...)
		evs, id, retry := reference(in)
		if d := diff(result{events: evs, lastID: id, retry: retry, closeErr: big.closeErr}, big); d != "" {
			t.Fatalf("parser differs from reference: %s", d)
		}
	})
}
