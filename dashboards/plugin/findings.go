package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// evidence is one piece of a finding's evidence, as the detector writes it
// (detector.Evidence's JSON form; kept separate so that the plugin does not
// depend on the detector package).
type evidence struct {
	What    string `json:"what"`
	CallID  string `json:"call_id"`
	Tool    string `json:"tool"`
	Excerpt string `json:"excerpt"`
	Hash    string `json:"hash"`
}

// findings lists findings with their evidence, one row per piece of
// evidence (a finding without evidence gets one row). With a session, all
// of that session's findings (whatever the time range) and the arguments
// of the calls the evidence points at; without, the findings in the time
// range. rule and minSeverity filter.
func findings(ctx context.Context, conn driver.Conn, db string, q Query) (data.Frames, error) {
	where := "1"
	args := []any{clickhouse.Named("limit", strconv.Itoa(q.Limit))}
	if q.Session != "" {
		where += " AND session = {session:String}"
		args = append(args, clickhouse.Named("session", q.Session))
	} else {
		where += " AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts <= fromUnixTimestamp64Milli({to:Int64})"
		args = append(args, clickhouse.Named("from", strconv.FormatInt(q.From.UnixMilli(), 10)),
			clickhouse.Named("to", strconv.FormatInt(q.To.UnixMilli(), 10)))
	}
	if q.Rule != "" {
		where += " AND rule = {rule:String}"
		args = append(args, clickhouse.Named("rule", q.Rule))
	}
	if q.Severity != "" {
		where += " AND severity >= {severity:String}"
		args = append(args, clickhouse.Named("severity", q.Severity))
	}
	query := `SELECT finding_id, ts, session, rule, toString(severity), title, toString(host), toString(server_name),
       toString(client_name), evidence
FROM ` + db + `.findings FINAL WHERE ` + where + `
ORDER BY severity DESC, ts DESC LIMIT {limit:UInt32}`
	rows, err := conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("findings: %w", err)
	}
	defer rows.Close()

	var arguments map[string]string
	if q.Session != "" {
		if arguments, err = callArguments(ctx, conn, db, q.Session); err != nil {
			return nil, err
		}
	}
	frame := data.NewFrame("findings",
		data.NewField("time", nil, []time.Time{}),
		data.NewField("severity", nil, []string{}),
		data.NewField("rule", nil, []string{}),
		data.NewField("title", nil, []string{}),
		data.NewField("session", nil, []string{}),
		data.NewField("host", nil, []string{}),
		data.NewField("server", nil, []string{}),
		data.NewField("client", nil, []string{}),
		data.NewField("what", nil, []string{}),
		data.NewField("call_id", nil, []string{}),
		data.NewField("tool", nil, []string{}),
		data.NewField("excerpt", nil, []string{}),
		data.NewField("arguments", nil, []string{}),
		data.NewField("hash", nil, []string{}),
		data.NewField("finding_id", nil, []string{}),
	)
	for rows.Next() {
		var (
			id                                                      uint64
			ts                                                      time.Time
			session, rule, sev, title, host, server, client, evJSON string
		)
		if err := rows.Scan(&id, &ts, &session, &rule, &sev, &title, &host, &server, &client, &evJSON); err != nil {
			return nil, fmt.Errorf("findings: %w", err)
		}
		var ev []evidence
		if err := json.Unmarshal([]byte(evJSON), &ev); err != nil || len(ev) == 0 {
			ev = []evidence{{What: "(no evidence recorded)"}}
		}
		for _, e := range ev {
			frame.AppendRow(ts, sev, rule, title, session, host, server, client, e.What, e.CallID, e.Tool,
				e.Excerpt, arguments[e.CallID], e.Hash, fmt.Sprintf("%016x", id))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("findings: %w", err)
	}
	return data.Frames{frame}, nil
}

// callArguments maps the JSON-RPC ids of a session's tool calls to their
// arguments JSON.
func callArguments(ctx context.Context, conn driver.Conn, db, session string) (map[string]string, error) {
	rows, err := conn.Query(ctx, `SELECT rpc_id, any(JSONExtractRaw(params, 'arguments')) FROM `+db+`.events
WHERE session = {session:String} AND kind = 'request' AND method = 'tools/call' AND rpc_id != ''
GROUP BY rpc_id`, clickhouse.Named("session", session))
	if err != nil {
		return nil, fmt.Errorf("findings: call arguments: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, args string
		if err := rows.Scan(&id, &args); err != nil {
			return nil, fmt.Errorf("findings: call arguments: %w", err)
		}
		out[id] = args
	}
	return out, rows.Err()
}
