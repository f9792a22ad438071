package schemas

import (
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
)

// sealedSample returns the sample capture sealed as one stream, as lines.
func sealedSample(t *testing.T) []string {
	t.Helper()
	recs, errs := readAll(t, readFile(t, "testdata/sample.capture.jsonl"))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	s := NewSealer("stream-a")
	lines := make([]string, len(recs))
	for i, r := range recs {
		if err := s.Seal(r); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines[i] = string(b)
	}
	return lines
}

// check reads lines and runs them through a ChainChecker.
func check(t *testing.T, lines []string) []ChainProblem {
	t.Helper()
	recs, errs := readAll(t, strings.Join(lines, "\n"))
	if len(errs) != 0 {
		t.Fatalf("sealed lines do not read back: %v", errs)
	}
	c := NewChainChecker()
	var all []ChainProblem
	for _, r := range recs {
		ps, err := c.Check(r)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ps...)
	}
	return all
}

func TestChain(t *testing.T) {
	edit := func(line, old, new string) string {
		t.Helper()
		if !strings.Contains(line, old) {
			t.Fatalf("%q not in line", old)
		}
		return strings.Replace(line, old, new, 1)
	}
	tests := []struct {
		name   string
		change func([]string) []string
		want   []ChainProblemKind
		seq    uint64 // of the first problem
	}{
		{"intact", func(l []string) []string { return l }, nil, 0},
		{"edited argument", func(l []string) []string {
			l[9] = edit(l[9], "/etc/shadow", "/etc/hosts")
			return l
		}, []ChainProblemKind{ChainEdit}, 10},
		{"deleted record", func(l []string) []string { return append(l[:5:5], l[6:]...) }, []ChainProblemKind{ChainGap}, 7},
		{"swapped records", func(l []string) []string { l[3], l[4] = l[4], l[3]; return l }, []ChainProblemKind{ChainGap, ChainReorder}, 5},
		{"duplicate delivery", func(l []string) []string { return append(l[:8:8], append([]string{l[7]}, l[8:]...)...) }, []ChainProblemKind{ChainDuplicate}, 8},
		{"forged record with a reused seq", func(l []string) []string {
			forged := edit(l[7], `"chain":"`, `"chain":"0`)
			forged = forged[:len(forged)-3] + `"}` // keep 64 hex digits
			return append(l[:8:8], append([]string{forged}, l[8:]...)...)
		}, []ChainProblemKind{ChainConflict}, 8},
		{"stream starts late", func(l []string) []string { return l[3:] }, []ChainProblemKind{ChainGap}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check(t, tt.change(sealedSample(t)))
			var kinds []ChainProblemKind
			for _, p := range got {
				kinds = append(kinds, p.Kind)
			}
			if strings.Join(toStrings(kinds), ",") != strings.Join(toStrings(tt.want), ",") {
				t.Fatalf("problems %v, want kinds %v", got, tt.want)
			}
			if len(got) > 0 && got[0].Seq != tt.seq {
				t.Errorf("first problem at seq %d, want %d: %v", got[0].Seq, tt.seq, got[0])
			}
		})
	}
}

func toStrings(ks []ChainProblemKind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

func TestSealerNumbersAndLinks(t *testing.T) {
	lines := sealedSample(t)
	recs, _ := readAll(t, strings.Join(lines, "\n"))
	prev := ""
	for i, r := range recs {
		if r.Stream != "stream-a" || r.Seq != uint64(i+1) || !isSHA256Hex(r.Chain) {
			t.Fatalf("record %d: stream %q seq %d chain %q", i, r.Stream, r.Seq, r.Chain)
		}
		if want, _ := r.ChainValue(prev); want != r.Chain {
			t.Fatalf("record %d: chain does not link to its predecessor", i)
		}
		prev = r.Chain
	}
	gap := ChainProblem{Kind: ChainGap, Stream: "s", Seq: 9, From: 4, To: 8}
	if !strings.Contains(gap.String(), "records 4..8 missing") {
		t.Errorf("gap text: %s", gap)
	}
}

// TestSealEncode checks that the single-marshal line equals the sealed
// record encoded the ordinary way, and that it reads back and verifies.
func TestSealEncode(t *testing.T) {
	recs, _ := readAll(t, readFile(t, "testdata/sample.capture.jsonl"))
	fast, slow := NewSealer("s"), NewSealer("s")
	var lines []string
	for _, r := range recs {
		copyOf := *r
		line, err := fast.SealEncode(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := slow.Seal(&copyOf); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(&copyOf, json.Deterministic(true))
		if string(line) != string(want) {
			t.Fatalf("SealEncode:\n%s\nSeal + Marshal:\n%s", line, want)
		}
		lines = append(lines, string(line))
	}
	if problems := check(t, lines); len(problems) != 0 {
		t.Fatalf("SealEncode lines do not verify: %v", problems)
	}
}
