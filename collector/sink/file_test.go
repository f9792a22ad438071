package sink

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "capture.jsonl")
	s, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{`{"a":1}`, `{"b":2}`} {
		if err := s.Write("s1", []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	// Lines reach the file without Close, within the flush interval.
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		if string(data) == "{\"a\":1}\n{\"b\":2}\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lines not flushed: %q", data)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Write("s1", []byte(`{"c":3}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", st.Mode().Perm())
	}
	// Reopening appends.
	s2, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_ = s2.Write("s2", []byte(`{"d":4}`))
	_ = s2.Close(context.Background())
	data, _ := os.ReadFile(path)
	if got := strings.Count(string(data), "\n"); got != 4 {
		t.Errorf("got %d lines after reopening, want 4: %q", got, data)
	}
}

func TestFileErrors(t *testing.T) {
	if _, err := OpenFile(""); err == nil || !strings.Contains(err.Error(), "file:PATH") {
		t.Errorf("empty path: %v", err)
	}
	dir := t.TempDir()
	if _, err := OpenFile(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("a directory as the file: %v", err)
	}
}
