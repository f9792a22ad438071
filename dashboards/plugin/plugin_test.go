package plugin_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental/datasourcetest"

	"github.com/mcptrail/mcptrail/dashboards/internal/fixture"
	"github.com/mcptrail/mcptrail/dashboards/plugin"
	"github.com/mcptrail/mcptrail/detector"
)

// serve runs the plugin as Grafana would, over gRPC on a loopback port,
// and returns its client.
func serve(t *testing.T) *datasourcetest.TestPluginClient {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	tp, err := datasourcetest.Manage(plugin.NewDatasource, datasourcetest.ManageOpts{Address: addr})
	if err != nil {
		t.Fatalf("serve the plugin: %v", err)
	}
	t.Cleanup(func() { _ = tp.Shutdown() })
	return tp.Client
}

// pluginContext is the plugin context Grafana sends for an instance
// configured with url.
func pluginContext(uid, url string) backend.PluginContext {
	js, _ := json.Marshal(map[string]string{"url": url, "database": "mcptrail"})
	return backend.PluginContext{
		PluginID:  plugin.ID,
		Namespace: "default",
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID: 1, UID: uid, Name: uid, Type: plugin.ID, JSONData: js,
			DecryptedSecureJSONData: map[string]string{},
			Updated:                 time.Unix(1, 0),
		},
	}
}

// query sends one query and returns its response.
func query(t *testing.T, c *datasourcetest.TestPluginClient, pc backend.PluginContext, f *fixture.Fixture, queryType string, model map[string]any) backend.DataResponse {
	t.Helper()
	model["queryType"] = queryType
	js, err := json.Marshal(model)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.QueryData(context.Background(), &backend.QueryDataRequest{
		PluginContext: pc,
		Queries: []backend.DataQuery{{
			RefID: "A", QueryType: queryType, JSON: js,
			TimeRange:     backend.TimeRange{From: f.From, To: f.To},
			Interval:      time.Minute,
			MaxDataPoints: 1000,
		}},
	})
	if err != nil {
		t.Fatalf("QueryData: %v", err)
	}
	return resp.Responses["A"]
}

// column returns the values of a frame's field as strings.
func column(t *testing.T, fr *data.Frame, name string) []string {
	t.Helper()
	f, _ := fr.FieldByName(name)
	if f == nil {
		t.Fatalf("frame %q has no field %q", fr.Name, name)
	}
	out := make([]string, f.Len())
	for i := range out {
		v, _ := f.ConcreteAt(i)
		switch x := v.(type) {
		case string:
			out[i] = x
		default:
			b, _ := json.Marshal(x)
			out[i] = string(b)
		}
	}
	return out
}

func TestPluginOverGRPC(t *testing.T) {
	f := fixture.Start(t)
	c := serve(t)
	ctx := context.Background()
	pc := pluginContext("mcptrail-investigation", f.URL)

	t.Run("CheckHealth", func(t *testing.T) {
		res, err := c.CheckHealth(ctx, &backend.CheckHealthRequest{PluginContext: pc})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, "mcptrail schema found") {
			t.Errorf("health = %v %q", res.Status, res.Message)
		}
	})

	t.Run("CheckHealth unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := "http://" + l.Addr().String() + "/"
		l.Close()
		res, err := c.CheckHealth(ctx, &backend.CheckHealthRequest{PluginContext: pluginContext("dead", dead)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != backend.HealthStatusError {
			t.Errorf("health of a closed port = %v %q, want an error status", res.Status, res.Message)
		}
	})

	t.Run("sessionGraph", func(t *testing.T) {
		r := query(t, c, pc, f, plugin.QuerySessionGraph, map[string]any{"session": f.Focus.Session})
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		if len(r.Frames) != 2 || r.Frames[0].Name != "nodes" || r.Frames[1].Name != "edges" {
			t.Fatalf("frames = %v, want nodes and edges", r.Frames)
		}
		for _, fr := range r.Frames {
			if fr.Meta == nil || fr.Meta.PreferredVisualization != data.VisTypeNodeGraph {
				t.Errorf("frame %s: preferred visualisation is not nodeGraph", fr.Name)
			}
		}
		nodes, edges := r.Frames[0], r.Frames[1]
		ids := column(t, nodes, "id")
		want := []string{"client", "github/get_file_contents", "github/create_issue"}
		if strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Errorf("node ids %v, want %v", ids, want)
		}
		for _, name := range []string{"title", "subTitle", "mainStat", "secondaryStat", "arc__ok", "arc__failed", "detail__findings"} {
			column(t, nodes, name)
		}
		if titles := column(t, nodes, "title"); titles[0] != f.Focus.Client {
			t.Errorf("client node title %q, want %q", titles[0], f.Focus.Client)
		}
		if marks := strings.Join(column(t, nodes, "detail__findings"), " "); !strings.Contains(marks, "token.audience-mismatch") {
			t.Errorf("findings on nodes %q: want the token finding marked", marks)
		}
		src, dst := column(t, edges, "source"), column(t, edges, "target")
		var got []string
		for i := range src {
			got = append(got, src[i]+">"+dst[i])
		}
		wantEdges := "client>github/get_file_contents,github/get_file_contents>github/create_issue,github/create_issue>github/get_file_contents"
		if strings.Join(got, ",") != wantEdges {
			t.Errorf("edges %v, want %s", got, wantEdges)
		}
		column(t, edges, "id")
		column(t, edges, "mainStat")
	})

	t.Run("sessionGraph of a dev-set session", func(t *testing.T) {
		var session string
		if err := f.Conn.QueryRow(ctx, "SELECT session FROM mcptrail.findings WHERE rule = 'injection.follow-through' ORDER BY session LIMIT 1").Scan(&session); err != nil {
			t.Fatal(err)
		}
		r := query(t, c, pc, f, plugin.QuerySessionGraph, map[string]any{"session": session})
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		if n := r.Frames[0].Rows(); n < 2 {
			t.Errorf("%d nodes, want the client and its tools", n)
		}
		if r.Frames[1].Rows() == 0 {
			t.Error("no edges")
		}
		if marks := strings.Join(column(t, r.Frames[0], "detail__findings"), " "); !strings.Contains(marks, "injection.follow-through") {
			t.Errorf("findings on nodes %q: want the follow-through finding marked", marks)
		}
	})

	t.Run("findings of a session with evidence", func(t *testing.T) {
		r := query(t, c, pc, f, plugin.QueryFindings, map[string]any{"session": f.Focus.Session})
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		fr := r.Frames[0]
		if fr.Rows() < 4 {
			t.Fatalf("%d evidence rows, want at least 4", fr.Rows())
		}
		rules := strings.Join(column(t, fr, "rule"), " ")
		for _, want := range []string{"token.audience-mismatch", "tool.poisoned-description", "tool.rug-pull", "token.multi-host"} {
			if !strings.Contains(rules, want) {
				t.Errorf("rules %q: missing %s", rules, want)
			}
		}
		sevs := column(t, fr, "severity")
		for i := 1; i < len(sevs); i++ {
			prev, cur := severityRank(t, sevs[i-1]), severityRank(t, sevs[i])
			if cur > prev {
				t.Errorf("severity %q after %q: want the most severe findings first", sevs[i], sevs[i-1])
				break
			}
		}
		args := strings.Join(column(t, fr, "arguments"), " ")
		if !strings.Contains(args, "attacker-org") {
			t.Errorf("arguments %q: want the arguments of the call the evidence points at", args)
		}
	})

	t.Run("findings in the range by severity", func(t *testing.T) {
		r := query(t, c, pc, f, plugin.QueryFindings, map[string]any{"minSeverity": "critical", "limit": 50})
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		sev := column(t, r.Frames[0], "severity")
		if len(sev) == 0 {
			t.Fatal("no critical findings")
		}
		for _, s := range sev {
			if s != "critical" {
				t.Fatalf("severity %q with minSeverity critical", s)
			}
		}
	})

	t.Run("chainScores of sessions", func(t *testing.T) {
		r := query(t, c, pc, f, plugin.QueryChainScores, map[string]any{"limit": 20})
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		fr := r.Frames[0]
		if fr.Rows() != 20 {
			t.Fatalf("%d rows, want the limit of 20", fr.Rows())
		}
		scores, _ := fr.FieldByName("mean_surprise_bits")
		for i := 1; i < scores.Len(); i++ {
			if scores.At(i).(float64) > scores.At(i-1).(float64) {
				t.Fatalf("scores not ranked at row %d: %v > %v", i, scores.At(i), scores.At(i-1))
			}
		}
	})

	t.Run("chainScores of one session", func(t *testing.T) {
		r := query(t, c, pc, f, plugin.QueryChainScores, map[string]any{"session": f.Focus.Session})
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		if got := column(t, r.Frames[0], "to"); len(got) != 3 || got[1] != "github/create_issue" {
			t.Errorf("steps %v, want the 3 calls of the session", got)
		}
	})

	t.Run("bad queries", func(t *testing.T) {
		for _, tt := range []struct {
			queryType string
			model     map[string]any
			want      string
		}{
			{"nope", map[string]any{}, "unknown queryType"},
			{plugin.QuerySessionGraph, map[string]any{}, "needs a session"},
			{plugin.QueryFindings, map[string]any{"minSeverity": "severe"}, "minSeverity"},
		} {
			r := query(t, c, pc, f, tt.queryType, tt.model)
			if r.Error == nil || !strings.Contains(r.Error.Error(), tt.want) {
				t.Errorf("%s %v: error %v, want %q", tt.queryType, tt.model, r.Error, tt.want)
			}
		}
	})
}

// severityRank orders severity names from info to critical.
func severityRank(t *testing.T, name string) detector.Severity {
	t.Helper()
	s, err := detector.ParseSeverity(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
