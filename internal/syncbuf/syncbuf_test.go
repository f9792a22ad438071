package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

func TestBufferConcurrent(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("ab"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); len(got) != 800 || strings.Trim(got, "ab") != "" {
		t.Fatalf("buffer holds %d bytes %q…, want 800 of \"ab\"", len(got), got[:min(len(got), 20)])
	}
	c := b.Bytes()
	c[0] = 'x'
	if b.String()[0] != 'a' {
		t.Fatal("Bytes returned the buffer's own memory, not a copy")
	}
}
