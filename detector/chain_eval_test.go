package detector_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcptrail/mcptrail/detector"
	"github.com/mcptrail/mcptrail/detector/eval"
	"github.com/mcptrail/mcptrail/detector/seqmodel"
)

// TestChainOnDatasets trains the transition model on each data set under
// $EVAL_ROOT and runs the engine with the chain detection over it: the
// chain rules must never flag a session at high or above. It prints the
// per-rule counts at every severity.
func TestChainOnDatasets(t *testing.T) {
	root := os.Getenv("EVAL_ROOT")
	if root == "" {
		t.Skip("EVAL_ROOT not set")
	}
	dirs, err := eval.Datasets(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		f, err := os.Open(filepath.Join(dir, name+".capture.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		model, st, err := seqmodel.TrainCapture(context.Background(), f, seqmodel.TrainOptions{})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: trained on %+v, %d contexts", name, st, len(model.Contexts))
		res, err := eval.Dataset(context.Background(), dir, detector.Info, func() (*detector.Engine, error) {
			return detector.New(detector.Options{Extra: []detector.Detection{detector.NewChainDetection(model, detector.ChainOptions{})}})
		})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		eval.Print(&b, res)
		t.Log("\n" + b.String())
		high, err := eval.Dataset(context.Background(), dir, detector.High, func() (*detector.Engine, error) {
			return detector.New(detector.Options{Detections: []detector.Detection{}, Extra: []detector.Detection{detector.NewChainDetection(model, detector.ChainOptions{})}})
		})
		if err != nil {
			t.Fatal(err)
		}
		if high.Flagged[eval.LabelBenign] > 0 {
			t.Errorf("%s: chain rules flag %d benign sessions at high", name, high.Flagged[eval.LabelBenign])
		}
	}
}
