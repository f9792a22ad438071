package processor

import (
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/schemas"
)

// sealedLinks seals n records of stream s and returns them as ChainLinks
// (canonical bytes from the sealed lines).
func sealedLinks(t *testing.T, s string, n int) []ChainLink {
	t.Helper()
	recs := readRecords(t, samplePath)
	sealer := schemas.NewSealer(s)
	out := make([]ChainLink, n)
	for i := range n {
		rec := *recs[i%len(recs)]
		line, err := sealer.SealEncode(&rec)
		if err != nil {
			t.Fatal(err)
		}
		var back schemas.Record
		if err := Decode(line, &back); err != nil {
			t.Fatal(err)
		}
		canon, fromLine, err := Canonical(&back, line)
		if err != nil || !fromLine {
			t.Fatalf("record %d: canonical from line %v, err %v", i, fromLine, err)
		}
		out[i] = ChainLink{Stream: s, Host: back.Host, Session: back.Session, Seq: back.Seq, Chain: back.Chain, Canon: canon, FromLine: true}
	}
	return out
}

func TestChainWindow(t *testing.T) {
	links := sealedLinks(t, "s1", 8)
	edited := links[3]
	edited.Canon = []byte(strings.Replace(string(edited.Canon), `"v":1`, `"v":1,"x":1`, 1))
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name  string
		order []int // indexes into links; -1 is the edited record 3
		wait  time.Duration
		want  []string // kinds found, in order
		dups  int64
	}{
		{"in order", []int{0, 1, 2, 3, 4, 5, 6, 7}, 0, nil, 0},
		{"reordered within the window", []int{0, 2, 1, 4, 3, 5, 7, 6}, 0, nil, 0},
		{"redelivered", []int{0, 1, 2, 1, 3, 2}, 0, nil, 2},
		{"edited", []int{0, 1, 2, -1, 4}, 0, []string{"edit"}, 0},
		{"gap after the wait", []int{0, 1, 4, 5}, time.Minute, []string{"gap"}, 0},
		{"late after the gap", []int{0, 1, 4, 5, 2}, time.Minute, []string{"gap", "reorder"}, 0},
		{"starts mid-stream", []int{3, 4, 5}, time.Minute, nil, 0},
		{"starts mid-stream out of order", []int{4, 3, 5}, time.Minute, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewChainWindow(ChainWindowConfig{MaxWait: 10 * time.Second})
			var got []string
			note := func(ps []ChainReport) {
				for _, p := range ps {
					got = append(got, string(p.Kind))
				}
			}
			now := t0
			for _, i := range tc.order {
				l := edited
				if i >= 0 {
					l = links[i]
				}
				note(w.Add(now, l))
				now = now.Add(time.Millisecond)
				if tc.wait > 0 && i == 5 {
					note(w.Expire(now.Add(tc.wait)))
				}
			}
			note(w.Expire(now.Add(time.Hour)))
			if strings.Join(got, ",") != strings.Join(tc.want, ",") || w.Duplicates != tc.dups {
				t.Errorf("problems %v, duplicates %d; want %v, %d", got, w.Duplicates, tc.want, tc.dups)
			}
			if w.Waiting() != 0 {
				t.Errorf("%d records still waiting", w.Waiting())
			}
		})
	}
}

func TestChainWindowBounded(t *testing.T) {
	links := sealedLinks(t, "s2", 40)
	w := NewChainWindow(ChainWindowConfig{MaxAhead: 5, MaxWaiting: 8})
	var gaps int
	for _, l := range links[2:] { // seq 1 and 2 never come
		for _, p := range w.Add(time.Unix(0, 0), l) {
			if p.Kind == schemas.ChainGap {
				gaps++
			}
		}
		if w.Waiting() > 5 {
			t.Fatalf("%d records waiting, bound 5", w.Waiting())
		}
	}
	if gaps != 0 { // never started: the first release is the stream's start
		t.Errorf("%d gaps reported for a stream seen from its middle", gaps)
	}
}
