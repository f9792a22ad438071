package tap

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// cutReader returns its bytes in reads sized by cuts (cycled).
type cutReader struct {
	b    []byte
	cuts []byte
	i    int
}

func (c *cutReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := len(c.b)
	if len(c.cuts) > 0 {
		n = min(int(c.cuts[c.i%len(c.cuts)])+1, n)
		c.i++
	}
	n = copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

func FuzzTap(f *testing.F) {
	f.Add([]byte("{}\n[1,2]\r\n\n"), []byte{0}, uint8(64))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`+"\n"), []byte{3, 10}, uint8(8))
	f.Add([]byte("not json\r\n\xff\xfe\n{\"a\":1"), []byte{1, 2, 3}, uint8(3))
	f.Add([]byte("[1234]\r\n{}\n"), []byte{5, 0}, uint8(5))
	f.Fuzz(func(t *testing.T, in, cuts []byte, maxLine uint8) {
		m := int(maxLine) + 1
		whole := collect(t, in, m, nil)
		if d := diffFrames(reference(in, m), whole); d != "" {
			t.Fatalf("whole feed differs from reference: %s", d)
		}
		chunks := make([]int, len(cuts))
		for i, c := range cuts {
			chunks[i] = int(c) + 1
		}
		if d := diffFrames(whole, collect(t, in, m, chunks)); d != "" {
			t.Fatalf("split feed differs from whole feed: %s", d)
		}

		var out bytes.Buffer
		var relayed []got
		tp, err := New(Config{Handler: func(f Frame) { relayed = append(relayed, toGot(f)) },
			MaxLine: m, QueueLen: len(in) + 1, QueueBytes: int64(len(in)) + 1})
		if err != nil {
			t.Fatal(err)
		}
		n, err := Relay(context.Background(), &out, &cutReader{b: in, cuts: cuts}, tp)
		tp.Close()
		if err != nil || n != int64(len(in)) || !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("Relay = %d, %v; relayed bytes differ from input", n, err)
		}
		if d := diffFrames(whole, relayed); d != "" {
			t.Fatalf("relayed frames differ from whole feed: %s", d)
		}
	})
}
