package proxy

import (
	"io"
	"net/url"
	"strings"
	"testing"
)

// chunkReader returns its input n bytes per Read.
type chunkReader struct {
	s string
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := min(len(p), c.n, len(c.s))
	copy(p, c.s[:n])
	c.s = c.s[n:]
	return n, nil
}

func (c *chunkReader) Close() error { return nil }

// rewriteAll runs in through an endpoint rewriter (upstream http://up:1,
// proxy http://me:2), fed chunk bytes at a time.
func rewriteAll(t testing.TB, in string, chunk int) string {
	t.Helper()
	up, _ := url.Parse("http://up:1/mcp")
	me, _ := url.Parse("http://me:2/sse")
	b, err := io.ReadAll(newEndpointRewriter(&chunkReader{s: in, n: max(chunk, 1)}, up, me))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzEndpointRewriter checks that the rewriter never changes a stream
// that does not name the upstream, and that its output does not depend on
// how the stream is cut.
func FuzzEndpointRewriter(f *testing.F) {
	f.Add("event: endpoint\ndata: http://up:1/m?s=1\n\n", uint8(3))
	f.Add(": c\r\n\r\nevent: endpoint\r\ndata: http://up:1\r\n\r\nrest", uint8(1))
	f.Add("retry: 1\r\revent: endpoint\rdata: /x\r\r", uint8(2))
	f.Fuzz(func(t *testing.T, in string, chunk uint8) {
		whole := rewriteAll(t, in, len(in)+1)
		if got := rewriteAll(t, in, int(chunk)); got != whole {
			t.Fatalf("chunked output %q differs from whole %q", got, whole)
		}
		if !strings.Contains(strings.ToLower(in), "up:1") && whole != in {
			t.Fatalf("stream changed: %q -> %q", in, whole)
		}
	})
}
