package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/schemas"
)

const samplePath = "../../schemas/testdata/sample.capture.jsonl"

func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestValidateSample(t *testing.T) {
	code, out, errOut := run(t, "", "validate", "--input", samplePath, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s validateSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, out)
	}
	if s.Records != 25 || s.BadLines != 0 || s.Sessions != 2 || s.Servers != 2 || s.Tools != 3 ||
		s.Messages != 23 || s.Batches != 2 || s.Methods["tools/call"] != 4 || s.Kinds["error"] != 1 || s.AuthEvents != 3 {
		t.Errorf("summary is wrong: %+v", s)
	}
}

func TestValidateStdinAndText(t *testing.T) {
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, string(data), "validate", "-i", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"records", "25 good, 0 bad", "sessions", "tools/call", "resources/read"} {
		if !strings.Contains(out, want) {
			t.Errorf("text summary lacks %q:\n%s", want, out)
		}
	}
}

func TestValidateBadLines(t *testing.T) {
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.Write(data)
	for i := range 25 {
		fmt.Fprintf(&b, "{\"v\":1,\"broken\":%d\n", i)
	}
	path := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "", "validate", "--input", path)
	if code != ExitFindings {
		t.Fatalf("exit %d, want %d", code, ExitFindings)
	}
	if !strings.Contains(out, "25 good, 25 bad") || !strings.Contains(out, "first 20 errors:") ||
		strings.Count(out, "\n  line ") != 20 || !strings.Contains(out, "line 26") || strings.Contains(out, "line 46:") {
		t.Errorf("output does not list exactly the first 20 errors:\n%s", out)
	}
	if !strings.Contains(errOut, "25 of 50 lines are bad") {
		t.Errorf("stderr: %q", errOut)
	}
}

func TestValidateUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"validate"}, `required flag(s) "input" not set`},
		{[]string{"validate", "--input", "/nonexistent/x.jsonl"}, "no such file"},
		{[]string{"validate", "--input", samplePath, "--format", "xml"}, "--format must be text or json"},
		{[]string{"nonsense"}, "unknown command"},
	}
	for _, tt := range tests {
		code, _, errOut := run(t, "", tt.args...)
		if code != ExitFailure || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tt.args, code, errOut, ExitFailure, tt.want)
		}
	}
}

// TestHelpOnEverySubcommand checks that every command answers --help with
// its usage and exits 0.
func TestHelpOnEverySubcommand(t *testing.T) {
	root := newRootCommand()
	cmds := append(root.Commands(), root)
	for _, c := range cmds {
		if c.Hidden || c.Name() == "completion" || c.Name() == "help" {
			continue
		}
		args := []string{"--help"}
		if c != root {
			args = []string{c.Name(), "--help"}
		}
		code, out, _ := run(t, "", args...)
		intro, _, _ := strings.Cut(c.Long, "\n")
		if intro == "" {
			intro = c.Short
		}
		if code != 0 || !strings.Contains(out, "Usage:") || !strings.Contains(out, intro) {
			t.Errorf("%v: exit %d, output:\n%s", args, code, out)
		}
	}
}

// TestValidateDataSets runs the command on the shared data sets: every
// line good, and as many sessions as the labels file has lines.
func TestValidateDataSets(t *testing.T) {
	matches, _ := filepath.Glob("../../../shared/datasets/*/*.capture.jsonl")
	if len(matches) == 0 {
		t.Skip("shared data sets not available")
	}
	for _, capture := range matches {
		labels, err := os.ReadFile(strings.TrimSuffix(capture, ".capture.jsonl") + ".labels.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		code, out, errOut := run(t, "", "validate", "--input", capture, "--format", "json", "--quiet")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", capture, code, errOut)
		}
		var s validateSummary
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatal(err)
		}
		if want := bytes.Count(labels, []byte("\n")); s.Sessions != want || s.BadLines != 0 {
			t.Errorf("%s: %d sessions and %d bad lines, want %d sessions", capture, s.Sessions, s.BadLines, want)
		}
	}
}

// TestValidateChain seals the sample as a collector stream, then deletes a
// record: validate reports the gap and exits 1.
func TestValidateChain(t *testing.T) {
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	r := schemas.NewReader(bytes.NewReader(data))
	sealer := schemas.NewSealer("collector-1")
	var lines []string
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if err := sealer.Seal(rec); err != nil {
			t.Fatal(err)
		}
		b, err := jsonv2.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	dir := t.TempDir()
	intact, broken := filepath.Join(dir, "intact.jsonl"), filepath.Join(dir, "broken.jsonl")
	if err := os.WriteFile(intact, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, []byte(strings.Join(append(lines[:4:4], lines[5:]...), "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, "", "validate", "-i", intact); code != 0 || !regexp.MustCompile(`chained streams +1: intact`).MatchString(out) {
		t.Fatalf("intact chain: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := run(t, "", "validate", "-i", broken)
	if code != ExitFindings || !strings.Contains(out, "records 5..5 missing before seq 6") || !strings.Contains(errOut, "chain of a collector stream is broken") {
		t.Fatalf("broken chain: exit %d\n%s%s", code, out, errOut)
	}
}
