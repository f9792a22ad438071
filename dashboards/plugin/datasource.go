package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/mcptrail/mcptrail/processor/store"
)

// ID is the plugin's id in plugin.json and in data-source provisioning.
const ID = "mcptrail-investigation-datasource"

// connectTimeout bounds connecting to ClickHouse.
const connectTimeout = 15 * time.Second

// Datasource is one configured instance of the data source. It connects to
// ClickHouse on first use (and again after a failed attempt), so a server
// that is down when Grafana starts does not break the instance.
type Datasource struct {
	settings Settings

	mu   sync.Mutex
	conn driver.Conn
}

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// NewDatasource is the instance factory for datasource.Manage.
func NewDatasource(_ context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	settings, err := ParseSettings(s)
	if err != nil {
		return nil, err
	}
	return &Datasource{settings: settings}, nil
}

// Dispose closes the connection when Grafana replaces the instance.
func (d *Datasource) Dispose() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		_ = d.conn.Close()
		d.conn = nil
	}
}

// connect returns the connection, opening it if needed.
func (d *Datasource) connect(ctx context.Context) (driver.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		return d.conn, nil
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	conn, err := store.Open(ctx, d.settings.clickhouseURL())
	if err != nil {
		return nil, err
	}
	d.conn = conn
	return conn, nil
}

// CheckHealth connects and checks that the mcptrail tables exist.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	fail := func(format string, args ...any) *backend.CheckHealthResult {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: fmt.Sprintf(format, args...)}
	}
	conn, err := d.connect(ctx)
	if err != nil {
		return fail("%v", err), nil
	}
	var n uint64
	q := "SELECT count() FROM system.tables WHERE database = {db:String} AND name IN ('events', 'findings', 'tool_definitions')"
	if err := conn.QueryRow(ctx, q, clickhouse.Named("db", d.settings.Database)).Scan(&n); err != nil {
		return fail("ClickHouse reachable, but listing tables failed: %v", err), nil
	}
	if n < 3 {
		return fail("ClickHouse reachable, but database %s lacks the mcptrail tables (run mcptrail migrate)", d.settings.Database), nil
	}
	version := "?"
	if v, err := conn.ServerVersion(); err == nil {
		version = v.Version.String()
	}
	return &backend.CheckHealthResult{
		Status:  backend.HealthStatusOk,
		Message: fmt.Sprintf("ClickHouse %s: mcptrail schema found in database %s", version, d.settings.Database),
	}, nil
}

// QueryData answers each query on its own; an error in one query is that
// query's response, not the request's.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		resp.Responses[q.RefID] = d.query(ctx, q)
	}
	return resp, nil
}

// query runs one query.
func (d *Datasource) query(ctx context.Context, dq backend.DataQuery) backend.DataResponse {
	q, err := parseQuery(dq)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	conn, err := d.connect(ctx)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadGateway, err.Error())
	}
	var frames data.Frames
	switch q.Type {
	case QuerySessionGraph:
		frames, err = sessionGraph(ctx, conn, d.settings.Database, q)
	case QueryFindings:
		frames, err = findings(ctx, conn, d.settings.Database, q)
	case QueryChainScores:
		frames, err = chainScores(ctx, conn, d.settings.Database, q)
	}
	if err != nil {
		return backend.ErrDataResponse(backend.StatusInternal, err.Error())
	}
	return backend.DataResponse{Frames: frames}
}

// Query is a parsed query.
type Query struct {
	Type     string `json:"queryType"`
	Session  string `json:"session"`
	Rule     string `json:"rule"`
	Severity string `json:"minSeverity"`
	Limit    int    `json:"limit"`
	From, To time.Time
}

// The query types.
const (
	QuerySessionGraph = "sessionGraph"
	QueryFindings     = "findings"
	QueryChainScores  = "chainScores"
)

// defaultLimit bounds the rows of a query without a limit.
const defaultLimit = 500

// parseQuery reads a query's JSON model.
func parseQuery(dq backend.DataQuery) (Query, error) {
	var q Query
	if len(dq.JSON) > 0 {
		if err := json.Unmarshal(dq.JSON, &q); err != nil {
			return q, fmt.Errorf("query %s: %w", dq.RefID, err)
		}
	}
	if dq.QueryType != "" {
		q.Type = dq.QueryType
	}
	q.From, q.To = dq.TimeRange.From, dq.TimeRange.To
	if q.Limit <= 0 {
		q.Limit = defaultLimit
	}
	switch q.Type {
	case QuerySessionGraph:
		if q.Session == "" {
			return q, fmt.Errorf("query %s: %s needs a session", dq.RefID, q.Type)
		}
	case QueryFindings, QueryChainScores:
	default:
		return q, fmt.Errorf("query %s: unknown queryType %q (want %s, %s or %s)", dq.RefID, q.Type,
			QuerySessionGraph, QueryFindings, QueryChainScores)
	}
	if q.Severity != "" && severityRank(q.Severity) < 0 {
		return q, fmt.Errorf("query %s: minSeverity %q: want info, low, medium, high or critical", dq.RefID, q.Severity)
	}
	return q, nil
}

// severityRank orders severities; -1 for an unknown name.
func severityRank(s string) int {
	for i, n := range []string{"info", "low", "medium", "high", "critical"} {
		if n == s {
			return i
		}
	}
	return -1
}
