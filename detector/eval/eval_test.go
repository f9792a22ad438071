package eval

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcptrail/mcptrail/detector"
)

// datasets returns the shared data sets, or skips outside CI when absent.
func datasets(t *testing.T) []string {
	t.Helper()
	dirs, err := Datasets(filepath.Join("..", "..", "..", "shared", "datasets"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("data sets: %v", err)
		}
		t.Skipf("data sets: %v", err)
	}
	return dirs
}

// TestGoals holds the detector to the goals on the labelled data:
// recall >= 0.95 on attack_succeeded and at most 1% of benign sessions
// flagged high or above, on every data set.
func TestGoals(t *testing.T) {
	for _, dir := range datasets(t) {
		res, err := Dataset(context.Background(), dir, detector.High, func() (*detector.Engine, error) {
			return detector.New(detector.Options{})
		})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		Print(&out, res)
		t.Log("\n" + out.String())
		if res.Sessions[LabelSucceeded] > 0 && res.Rate(LabelSucceeded) < 0.95 {
			t.Errorf("%s: recall on %s %.3f, want >= 0.95", res.Name, LabelSucceeded, res.Rate(LabelSucceeded))
		}
		if res.Rate(LabelBenign) > 0.01 {
			t.Errorf("%s: %.3f of benign sessions flagged, want <= 0.01: %v", res.Name, res.Rate(LabelBenign), res.FalsePositives)
		}
		if !strings.Contains(out.String(), "per rule") && res.Findings > 0 {
			t.Errorf("%s: no per-rule breakdown printed", res.Name)
		}
	}
}

func TestLabelErrors(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Base(dir)
	if err := os.WriteFile(filepath.Join(dir, name+".labels.jsonl"), []byte("{\"session\":\"a\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Dataset(context.Background(), dir, detector.High, func() (*detector.Engine, error) { return detector.New(detector.Options{}) })
	if err == nil || !strings.Contains(err.Error(), ":1: a label needs session and label") {
		t.Fatalf("Dataset with a bad label: %v", err)
	}
}
