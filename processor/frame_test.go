package processor

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mcptrail/mcptrail/schemas"
)

// TestFrameRoundTrip: a sealed record rebuilt from its frame and its
// rows' params and result is its canonical bytes again, for every record
// of the sample (requests, responses, batches, HTTP and auth records).
func TestFrameRoundTrip(t *testing.T) {
	sealer := schemas.NewSealer("stream-1")
	n := NewNormalizer(0)
	cut := 0
	for i, src := range readRecords(t, samplePath) {
		rec := *src
		line, err := sealer.SealEncode(&rec)
		if err != nil {
			t.Fatal(err)
		}
		var back schemas.Record
		if err := Decode(line, &back); err != nil {
			t.Fatal(err)
		}
		canon, _, err := Canonical(&back, line)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := back.CanonicalBytes()
		if !bytes.Equal(canon, want) {
			t.Fatalf("record %d: canonical bytes from the line differ from CanonicalBytes", i)
		}
		var cols Columns
		rows := n.AddChained(&back, canon, &cols)
		if len(cols.ChainCuts[0]) > 0 {
			cut++
		}
		got, err := Rebuild(cols.ChainFrame[0], cols.ChainCuts[0], cols.Params[:rows], cols.Result[:rows])
		if err != nil || !bytes.Equal(got, canon) {
			t.Fatalf("record %d: rebuilt %q (err %v), want %q", i, got, err, canon)
		}
		for r := 1; r < rows; r++ {
			if cols.ChainFrame[r] != nil {
				t.Errorf("record %d: row %d has a frame too", i, r)
			}
		}
	}
	if cut == 0 {
		t.Error("no frame had anything cut out")
	}
}

func TestRebuildRejectsDamage(t *testing.T) {
	for _, cuts := range [][]uint32{{1}, {5, 0, 2, 0}, {100, 0}, {0, 4}} {
		if _, err := Rebuild([]byte("abcdef"), cuts, [][]byte{[]byte("x")}, [][]byte{nil}); err == nil {
			t.Errorf("cuts %v: no error", cuts)
		}
	}
}

func TestTokenStable(t *testing.T) {
	a := []PositionRange{{0, 10, 20, 11}, {3, 5, 9, 5}}
	b := []PositionRange{{3, 5, 9, 5}, {0, 10, 20, 11}}
	if Token("g", "t", a) != Token("g", "t", b) {
		t.Error("the token depends on the order of the ranges")
	}
	for _, other := range [][]PositionRange{{{0, 10, 21, 12}, {3, 5, 9, 5}}, {{0, 10, 20, 11}}} {
		if Token("g", "t", a) == Token("g", "t", other) {
			t.Errorf("ranges %v share a token with %v", other, a)
		}
	}
	if Token("g", "t", a) == Token("g2", "t", a) || Token("g", "t", a) == Token("g", "t2", a) {
		t.Error("group or source does not change the token")
	}
}

func TestDecodeReasons(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`{"v":1`, "syntax"},
		{``, "empty_line"},
		{`{"v":1,"ts":"2026-01-01T00:00:00Z","host":"h","session":"s","server":{"name":"x"},"transport":"pigeon","dir":"c2s","msg":{}}`, "invalid_value"},
		{`{"v":1,"ts":"2026-01-01T00:00:00Z","host":"h","server":{"name":"x"},"transport":"stdio","dir":"c2s","msg":{}}`, "missing_field"},
		{"{\"v\":1}\n{\"v\":1}", "syntax"},
	} {
		var rec schemas.Record
		err := Decode([]byte(tc.line), &rec)
		if err == nil || !strings.HasPrefix(DeadLetterReason(err), tc.want) {
			t.Errorf("%q: reason %q, want %s", tc.line, DeadLetterReason(err), tc.want)
		}
	}
	good := readRecords(t, samplePath)[0]
	line, _ := good.CanonicalBytes()
	var rec schemas.Record
	if err := Decode(line, &rec); err != nil {
		t.Errorf("a good line: %v", err)
	}
}
