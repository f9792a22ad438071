package plugin

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// call is one tools/call of a session with its response.
type call struct {
	ts        time.Time
	server    string
	tool      string
	id        string
	client    string
	failed    bool
	answered  bool
	latencyUS uint64
}

// node returns the graph node id of the call's tool.
func (c *call) node() string { return c.server + "/" + c.tool }

// sessionCalls reads a session's tool calls in order, each with its
// response (paired by server and JSON-RPC id).
func sessionCalls(ctx context.Context, conn driver.Conn, db, session string) ([]call, error) {
	q := `SELECT q.ts, q.server_name, q.target, q.rpc_id, q.client_name, r.is_error, r.answered, r.latency_us
FROM (SELECT ts, toString(server_name) AS server_name, target, rpc_id, toString(client_name) AS client_name
      FROM ` + db + `.events FINAL
      WHERE session = {session:String} AND kind = 'request' AND method = 'tools/call') AS q
LEFT JOIN (SELECT toString(server_name) AS server_name, rpc_id, is_error, 1 AS answered, latency_us
           FROM ` + db + `.events FINAL
           WHERE session = {session:String} AND kind IN ('result', 'error') AND method = 'tools/call') AS r
ON q.server_name = r.server_name AND q.rpc_id = r.rpc_id
ORDER BY q.ts`
	rows, err := conn.Query(ctx, q, clickhouse.Named("session", session))
	if err != nil {
		return nil, fmt.Errorf("session %s: calls: %w", session, err)
	}
	defer rows.Close()
	var calls []call
	for rows.Next() {
		var (
			c        call
			answered uint8
		)
		if err := rows.Scan(&c.ts, &c.server, &c.tool, &c.id, &c.client, &c.failed, &answered, &c.latencyUS); err != nil {
			return nil, fmt.Errorf("session %s: calls: %w", session, err)
		}
		c.answered = answered == 1
		calls = append(calls, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("session %s: calls: %w", session, err)
	}
	return calls, nil
}

// sessionFindings returns, per JSON-RPC call id, the rules of the session's
// findings that involve it, worst severity first.
func sessionFindings(ctx context.Context, conn driver.Conn, db, session string) (map[string][]string, error) {
	q := `SELECT arrayJoin(call_ids) AS call_id, groupArray(concat(toString(severity), ' ', rule)) AS rules
FROM (SELECT call_ids, severity, rule FROM ` + db + `.findings FINAL WHERE session = {session:String} ORDER BY severity DESC)
GROUP BY call_id`
	rows, err := conn.Query(ctx, q, clickhouse.Named("session", session))
	if err != nil {
		return nil, fmt.Errorf("session %s: findings: %w", session, err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var (
			id    string
			rules []string
		)
		if err := rows.Scan(&id, &rules); err != nil {
			return nil, fmt.Errorf("session %s: findings: %w", session, err)
		}
		out[id] = rules
	}
	return out, rows.Err()
}

// sessionGraph builds the Node Graph frames of a session's tool-call
// chain: a node for the client and for every tool called, an edge for each
// call that followed another (the first call follows the client).
func sessionGraph(ctx context.Context, conn driver.Conn, db string, q Query) (data.Frames, error) {
	calls, err := sessionCalls(ctx, conn, db, q.Session)
	if err != nil {
		return nil, err
	}
	marks, err := sessionFindings(ctx, conn, db, q.Session)
	if err != nil {
		return nil, err
	}
	nodes, edges := buildGraph(calls, marks)
	return data.Frames{nodes, edges}, nil
}

// clientNode is the id of the node that stands for the agent.
const clientNode = "client"

type nodeStats struct {
	title, subTitle string
	calls, failed   int
	latencies       []uint64
	findings        []string
}

type edgeStats struct {
	source, target string
	steps          []int
}

// buildGraph turns calls (in order) and the findings per call id into the
// nodes and edges frames.
func buildGraph(calls []call, marks map[string][]string) (*data.Frame, *data.Frame) {
	client := "client"
	if len(calls) > 0 && calls[0].client != "" {
		client = calls[0].client
	}
	order := []string{clientNode}
	stats := map[string]*nodeStats{clientNode: {title: client, subTitle: "client"}}
	var edgeOrder []string
	edges := map[string]*edgeStats{}
	prev := clientNode
	for i, c := range calls {
		id := c.node()
		s := stats[id]
		if s == nil {
			s = &nodeStats{title: c.tool, subTitle: c.server}
			stats[id] = s
			order = append(order, id)
		}
		s.calls++
		stats[clientNode].calls++
		if c.failed {
			s.failed++
		}
		if c.answered && c.latencyUS > 0 {
			s.latencies = append(s.latencies, c.latencyUS)
		}
		for _, f := range marks[c.id] {
			if !slices.Contains(s.findings, f) {
				s.findings = append(s.findings, f)
			}
		}
		eid := prev + "->" + id
		e := edges[eid]
		if e == nil {
			e = &edgeStats{source: prev, target: id}
			edges[eid] = e
			edgeOrder = append(edgeOrder, eid)
		}
		e.steps = append(e.steps, i+1)
		prev = id
	}

	nodes := data.NewFrame("nodes",
		data.NewField("id", nil, []string{}),
		data.NewField("title", nil, []string{}),
		data.NewField("subTitle", nil, []string{}),
		data.NewField("mainStat", nil, []string{}),
		data.NewField("secondaryStat", nil, []string{}),
		data.NewField("arc__ok", nil, []float64{}).SetConfig(&data.FieldConfig{DisplayName: "ok", Color: fixedColor("green")}),
		data.NewField("arc__failed", nil, []float64{}).SetConfig(&data.FieldConfig{DisplayName: "failed", Color: fixedColor("red")}),
		data.NewField("detail__findings", nil, []string{}).SetConfig(&data.FieldConfig{DisplayName: "Findings"}),
	)
	for _, id := range order {
		s := stats[id]
		ok, failed := 1.0, 0.0
		if s.calls > 0 && id != clientNode {
			failed = float64(s.failed) / float64(s.calls)
			ok = 1 - failed
		}
		secondary := ""
		if len(s.latencies) > 0 {
			secondary = "p50 " + formatMS(median(s.latencies))
		}
		if len(s.findings) > 0 {
			secondary = strings.TrimSpace(secondary + " ⚠ " + strconv.Itoa(len(s.findings)) + " findings")
		}
		nodes.AppendRow(id, s.title, s.subTitle, plural(s.calls, "call"), secondary, ok, failed, strings.Join(s.findings, "; "))
	}
	nodes.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeNodeGraph})

	edgeFrame := data.NewFrame("edges",
		data.NewField("id", nil, []string{}),
		data.NewField("source", nil, []string{}),
		data.NewField("target", nil, []string{}),
		data.NewField("mainStat", nil, []string{}),
		data.NewField("detail__steps", nil, []string{}).SetConfig(&data.FieldConfig{DisplayName: "Steps"}),
	)
	for _, id := range edgeOrder {
		e := edges[id]
		steps := make([]string, len(e.steps))
		for i, s := range e.steps {
			steps[i] = strconv.Itoa(s)
		}
		edgeFrame.AppendRow(id, e.source, e.target, "×"+strconv.Itoa(len(e.steps)), strings.Join(steps, ", "))
	}
	edgeFrame.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeNodeGraph})
	return nodes, edgeFrame
}

// fixedColor is a field color config of one named color.
func fixedColor(c string) map[string]any {
	return map[string]any{"mode": "fixed", "fixedColor": c}
}

// median returns the middle value (the upper one for an even count).
func median(v []uint64) uint64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// formatMS writes microseconds as milliseconds.
func formatMS(us uint64) string {
	return strconv.FormatFloat(float64(us)/1000, 'f', 1, 64) + " ms"
}

// plural writes "1 call", "2 calls".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
