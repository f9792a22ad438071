package schemas

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/go-json-experiment/json"
)

// FuzzReader feeds arbitrary input to the reader: it must never panic, a
// line error must name a line that exists, and a record it accepts must
// survive re-encoding and re-reading unchanged. The kept corpus is in
// testdata/fuzz/FuzzReader.
func FuzzReader(f *testing.F) {
	f.Add([]byte(goodLine + "\n"))
	f.Add([]byte(goodLine[:40] + "\n\n" + goodLine))
	if sample, err := os.ReadFile("testdata/sample.capture.jsonl"); err == nil {
		f.Add(sample)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := int64(bytes.Count(data, []byte("\n")) + 1)
		r := NewReader(bytes.NewReader(data), WithMaxLineBytes(1<<16))
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var le *LineError
			if errors.As(err, &le) {
				if le.Line < 1 || le.Line > lines || le.Reason == "" || le.Kind == "" {
					t.Fatalf("bad line error: %+v", le)
				}
				continue
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			out, err := json.Marshal(rec, json.Deterministic(true))
			if err != nil {
				t.Fatalf("re-encode accepted record: %v", err)
			}
			again, err := NewReader(bytes.NewReader(out)).Next()
			if err != nil {
				t.Fatalf("re-read accepted record: %v\n%s", err, out)
			}
			out2, _ := json.Marshal(again, json.Deterministic(true))
			if !bytes.Equal(out, out2) {
				t.Fatalf("record changed on round trip:\n%s\n%s", out, out2)
			}
		}
	})
}
