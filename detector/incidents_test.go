package detector_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mcptrail/mcptrail/detector"
	"github.com/mcptrail/mcptrail/schemas"
)

// TestIncidents replays small captures that re-create public MCP incidents
// and checks that the expected rules fire at (at least) the expected
// severity.
func TestIncidents(t *testing.T) {
	cases := map[string]map[string]detector.Severity{
		// A tool that is harmless at first and later tells the model to
		// forward the chat history.
		"rug-pull": {
			detector.RuleToolRugPull:             detector.High,
			detector.RuleToolListChanged:         detector.Low,
			detector.RuleToolPoisonedDescription: detector.High,
		},
		// A description that tells the model to read ~/.ssh/id_rsa and
		// pass it in a sidenote argument.
		"ssh-key-sidenote": {
			detector.RuleToolPoisonedDescription: detector.High,
		},
		// One server's description changes how another server's
		// send_email is called.
		"cross-server-send-email": {
			detector.RuleToolCrossServerRef:      detector.High,
			detector.RuleToolPoisonedDescription: detector.High,
		},
		// One bearer token presented to several servers and hosts.
		"token-multi-server": {
			detector.RuleTokenMultiServer:      detector.High,
			detector.RuleTokenAudienceMismatch: detector.High,
			detector.RuleTokenMultiHost:        detector.High,
		},
		// Text hidden with Unicode tag characters and ANSI escapes.
		"hidden-text": {
			detector.RuleToolHiddenCharacters:    detector.High,
			detector.RuleToolPoisonedDescription: detector.High,
		},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "incidents", "*.capture.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cases) {
		t.Errorf("%d incident captures, %d expectations", len(files), len(cases))
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			recs := tdReadCapture(t, filepath.Join("testdata", "incidents", name+".capture.jsonl"))
			fs := tdRun(t, recs...)
			t.Log(tdDescribe(fs))
			got := tdRules(fs)
			for rule, sev := range want {
				if g, ok := got[rule]; !ok || g < sev {
					t.Errorf("%s: %s at %v (fired %v), want at least %v; findings:%s", name, rule, g, ok, sev, tdDescribe(fs))
				}
			}
		})
	}
}

func tdReadCapture(t *testing.T, path string) []*schemas.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := schemas.NewReader(f)
	var out []*schemas.Record
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, rec)
	}
}
