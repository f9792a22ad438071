package schemas

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
)

// TestDamagedCapture damages a copy of a capture file in the ways the
// foundation issue lists and checks that exactly the expected errors come
// back while every other line is still read.
func TestDamagedCapture(t *testing.T) {
	for _, name := range []string{"testdata/sample.capture.jsonl", devCapture} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(name)
			if os.IsNotExist(err) && name == devCapture {
				t.Skip("dev data set not available")
			}
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			if len(lines) > 3000 {
				lines = lines[:3000]
			}
			if len(lines) < 12 {
				t.Fatalf("%s has only %d lines", name, len(lines))
			}
			huge := fmt.Sprintf(`{"v":1,"ts":"2026-11-24T10:00:00Z","host":"h","session":"s","server":{"name":"x"},"transport":"stdio","dir":"s2c","msg":{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"%s"}]}}}`,
				strings.Repeat("0123456789", 1<<20)) // a valid 10 MB line is accepted
			var out []string
			for i, l := range lines {
				switch i {
				case 1:
					l = l[:len(l)/2] // truncated
				case 3:
					l = strings.Replace(l, `"host":`, `"hostname":`, 1) // missing required field
				case 5:
					l = strings.Replace(l, `"v":1`, `"v":"1"`, 1) // wrong type
				case 7:
					l = strings.Replace(l, `"session":"`, "\"session\":\"\xc3\x28", 1) // invalid UTF-8
				case 9:
					out = append(out, huge)
				case 11:
					out = append(out, "") // empty line
				}
				out = append(out, l)
			}
			input := strings.Join(out, "\n") + "\n"

			sum := NewSummary()
			r := NewReader(strings.NewReader(input))
			for {
				rec, err := r.Next()
				if err != nil {
					le, ok := err.(*LineError)
					if !ok {
						break // io.EOF
					}
					sum.AddError(le)
					continue
				}
				sum.Add(rec)
			}
			type got struct {
				line  int64
				kind  ErrorKind
				field string
			}
			want := []got{{2, ErrSyntax, ""}, {4, ErrMissingField, "host"}, {6, ErrWrongType, "v"}, {8, ErrInvalidUTF8, "session"}, {13, ErrEmptyLine, ""}}
			if len(sum.FirstErrors) != len(want) {
				t.Fatalf("got %d errors, want %d: %v", len(sum.FirstErrors), len(want), sum.FirstErrors)
			}
			for i, e := range sum.FirstErrors {
				g := got{e.Line, e.Kind, e.Field}
				if want[i].field == "" {
					g.field = "" // a truncated line names where it stopped; only the kind is fixed
				}
				if g != want[i] {
					t.Errorf("error %d: got %v (%v), want %v", i, g, e, want[i])
				}
			}
			if wantGood := int64(len(out) - len(want)); sum.Records != wantGood {
				t.Errorf("got %d good records, want %d (every undamaged line and the 10 MB line)", sum.Records, wantGood)
			}
		})
	}
}

// TestDataSetsValidate reads every capture file of the shared data sets:
// no bad line, and as many sessions as the labels file has lines.
func TestDataSetsValidate(t *testing.T) {
	for _, set := range []string{"agentdojo-dev", "taubench-airline-benign"} {
		t.Run(set, func(t *testing.T) {
			base := "../../shared/datasets/" + set + "/" + set
			f, err := os.Open(base + ".capture.jsonl")
			if err != nil {
				t.Skipf("data set not available: %v", err)
			}
			defer f.Close()
			sum := NewSummary()
			r := NewReader(f)
			for {
				rec, err := r.Next()
				if err != nil {
					if le, ok := err.(*LineError); ok {
						sum.AddError(le)
						continue
					}
					break
				}
				sum.Add(rec)
			}
			labels, err := os.ReadFile(base + ".labels.jsonl")
			if err != nil {
				t.Fatal(err)
			}
			wantSessions := bytes.Count(labels, []byte("\n"))
			if sum.BadLines != 0 || sum.Sessions() != wantSessions {
				t.Errorf("bad lines %d (%v), sessions %d, want 0 bad and %d sessions", sum.BadLines, sum.FirstErrors, sum.Sessions(), wantSessions)
			}
			sc := bufio.NewScanner(bytes.NewReader(labels))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				// every labelled session must have been seen
				var l struct {
					Session string `json:"session"`
				}
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatal(err)
				}
				if _, ok := sum.sessions[l.Session]; !ok {
					t.Errorf("labelled session %s not in the capture", l.Session)
				}
			}
		})
	}
}
