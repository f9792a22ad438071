package detector

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mcptrail/mcptrail/detector/textscan"
)

// TestFirstIndexIsABoundedMap checks firstIndex against the map it stands
// for: each key maps to the first call whose text held it, and once the map
// holds max keys no key is added. Texts share words so that keys repeat,
// there are more of them than maxIndexEntries, and one is too long to keep
// its shingles.
func TestFirstIndexIsABoundedMap(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	words := strings.Fields("send the report to alice at alice@example.com account CH9300762011623852957 before friday and read the notes from bob ~/.ssh/id_rsa")
	text := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		return b.String()
	}
	for _, max := range []int{3, 40, 400, 100_000} {
		t.Run(fmt.Sprint("max=", max), func(t *testing.T) {
			tc := newTextCache()
			var shingles firstIndex[uint64, shingleKeys]
			var values firstIndex[textscan.Value, valueKeys]
			wantShingles, wantValues := map[uint64]*Call{}, map[textscan.Value]*Call{}
			for i := range 100 {
				c := &Call{Index: i}
				s := text(2 + r.IntN(30))
				if i == 70 {
					s = strings.Repeat(s, maxKeptText/len(s)+1)
				}
				lt := tc.get(s)
				shingles.add(c, lt, max)
				values.add(c, lt, max)
				textscan.Shingles(s, func(h uint64) {
					if len(wantShingles) < max {
						if _, ok := wantShingles[h]; !ok {
							wantShingles[h] = c
						}
					}
				})
				for _, v := range textscan.Values(nil, s) {
					if _, ok := wantValues[v]; !ok && len(wantValues) < max {
						wantValues[v] = c
					}
				}
				probe := tc.get(text(12))
				for _, h := range append(probe.Shingles(), lt.Shingles()...) {
					got, ok := shingles.first(h)
					if want, wantOK := wantShingles[h]; got != want || ok != wantOK {
						t.Fatalf("after %d texts: shingle %x first in %v (%v), want %v (%v)", i+1, h, got, ok, want, wantOK)
					}
				}
				for _, v := range append(probe.Values(), lt.Values()...) {
					got, ok := values.first(v)
					if want, wantOK := wantValues[v]; got != want || ok != wantOK {
						t.Fatalf("after %d texts: value %v first in %v (%v), want %v (%v)", i+1, v, got, ok, want, wantOK)
					}
				}
			}
		})
	}
}

// TestTextCacheKeepsTextsApart checks that a text is found by its content:
// the same text gives the same leafText, another text another one.
func TestTextCacheKeepsTextsApart(t *testing.T) {
	tc := newTextCache()
	a, b := tc.get("a tool result"), tc.get("another tool result")
	if a == b || tc.get("a tool result") != a || a.s != "a tool result" {
		t.Fatalf("textCache mixed texts up: %q %q", a.s, b.s)
	}
	big := strings.Repeat("x ", maxKeptText)
	if first, again := tc.get(big), tc.get(big); first == again {
		t.Errorf("textCache kept a text over maxKeptText")
	}
}

// TestSegments checks the spans segments returns against splitting the
// text into lines, and long lines into sentences.
func TestSegments(t *testing.T) {
	long := strings.Repeat("This is a sentence. ", 20) + "And one without an end"
	for _, text := range []string{"", "one line", "two\nlines\n", "\n\n", long, long + "\nshort\n" + long + ". ", "a. b. c"} {
		var want []string
		for _, line := range strings.Split(text, "\n") {
			if len(line) <= 300 {
				want = append(want, line)
				continue
			}
			start := 0
			for i := 0; i < len(line)-1; i++ {
				if (line[i] == '.' || line[i] == '!' || line[i] == '?') && line[i+1] == ' ' {
					want = append(want, line[start:i+1])
					start = i + 2
				}
			}
			want = append(want, line[start:])
		}
		var got []string
		for _, seg := range segments(text) {
			got = append(got, text[seg[0]:seg[1]])
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Errorf("segments(%.40q) = %q, want %q", text, got, want)
		}
	}
}
