package detector_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/detector"
	"github.com/mcptrail/mcptrail/detector/seqmodel"
	"github.com/mcptrail/mcptrail/schemas"
)

// tdModel trains a model on n sessions of each sequence of
// "server/tool" calls by the test client.
func tdModel(t *testing.T, n int, seqs ...string) *seqmodel.Model {
	t.Helper()
	tr := seqmodel.NewTrainer(seqmodel.TrainOptions{})
	for i := range n {
		for j, seq := range seqs {
			id := fmt.Sprintf("train-%d-%d", i, j)
			for _, call := range strings.Fields(seq) {
				server, tool, _ := strings.Cut(call, "/")
				tr.AddCall(id, "test-client", server, tool)
			}
			tr.EndSession(id)
		}
	}
	return tr.Model()
}

// tdCalls builds a session making the calls ("server/tool") one second apart.
func tdCalls(t *testing.T, session string, calls string) []*schemas.Record {
	t.Helper()
	c := tdNew(t, session)
	for _, call := range strings.Fields(calls) {
		server, tool, _ := strings.Cut(call, "/")
		c.on(server).call(tool, `{}`)
	}
	return c.recs
}

func TestChain(t *testing.T) {
	model := tdModel(t, 40, "mail/list_inbox mail/read_message mail/reply", "mail/list_inbox mail/read_message files/read_file mail/reply")
	cases := []struct {
		name  string
		calls string
		want  map[string]detector.Severity
	}{
		{"usual", "mail/list_inbox mail/read_message mail/reply", nil},
		{"usual variant", "mail/list_inbox mail/read_message files/read_file mail/reply", nil},
		{"improbable transition", "mail/list_inbox mail/reply", map[string]detector.Severity{detector.RuleChainImprobableTransition: detector.Low}},
		// A model trained on identical sessions finds any novelty improbable.
		{"first-seen tool", "mail/list_inbox mail/read_message mail/delete_all", map[string]detector.Severity{
			detector.RuleChainFirstSeenTool: detector.Info, detector.RuleChainImprobableSequence: detector.Medium}},
		{"first-seen tool, short session", "mail/list_inbox mail/delete_all", map[string]detector.Severity{detector.RuleChainFirstSeenTool: detector.Info}},
		{"first-seen server", "mail/list_inbox mail/read_message paste/upload mail/reply", map[string]detector.Severity{
			detector.RuleChainFirstSeenServer: detector.Info, detector.RuleChainFirstSeenTool: detector.Info, detector.RuleChainImprobableSequence: detector.Medium}},
		{"improbable sequence", "mail/reply mail/reply mail/read_message mail/read_message mail/list_inbox mail/reply mail/list_inbox", map[string]detector.Severity{
			detector.RuleChainImprobableSequence: detector.Medium, detector.RuleChainImprobableTransition: detector.Low}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eng, err := detector.New(detector.Options{Detections: []detector.Detection{}, Extra: []detector.Detection{detector.NewChainDetection(model, detector.ChainOptions{})}})
			if err != nil {
				t.Fatal(err)
			}
			fs := tdRunOn(eng, tdCalls(t, "s", tc.calls)...)
			tdExpect(t, fs, tc.want, "chain.")
			for _, f := range fs {
				if f.Severity > detector.Medium {
					t.Errorf("%s at %v: chain findings stay at medium or below", f.Rule, f.Severity)
				}
			}
		})
	}
}

func TestChainBurst(t *testing.T) {
	opts := detector.ChainOptions{BurstCalls: 5, BurstWindow: 10 * time.Second}
	for _, tc := range []struct {
		name  string
		calls int
		want  map[string]detector.Severity
	}{
		{"burst", 8, map[string]detector.Severity{detector.RuleChainBurst: detector.Low}},
		{"no burst", 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, err := detector.New(detector.Options{Detections: []detector.Detection{}, Extra: []detector.Detection{detector.NewChainDetection(nil, opts)}})
			if err != nil {
				t.Fatal(err)
			}
			fs := tdRunOn(eng, tdCalls(t, "s", strings.Repeat("a/x ", tc.calls))...)
			tdExpect(t, fs, tc.want, "chain.")
			if len(fs) > 1 {
				t.Errorf("%d findings, want at most one burst per session", len(fs))
			}
		})
	}
}
