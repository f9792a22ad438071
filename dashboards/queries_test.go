package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/mcptrail/mcptrail/dashboards/internal/fixture"
	"github.com/mcptrail/mcptrail/dashboards/macros"
	"github.com/mcptrail/mcptrail/dashboards/plugin"
)

// maxDataPoints is the panel width Grafana's interval is derived from.
const maxDataPoints = 1000

// scenario is how the tests set the dashboards' variables.
type scenario string

const (
	// allSelected: "All" in every multi-value variable.
	allSelected scenario = "all"
	// oneSelected: one value (the fixture's focus) in each.
	oneSelected scenario = "one"
	// twoSelected: the focus and another value in each.
	twoSelected scenario = "two"
)

// queryEnv runs dashboard queries the way Grafana would.
type queryEnv struct {
	f      *fixture.Fixture
	plugin *plugin.Datasource
	// interval is the $__interval of every panel.
	interval time.Duration
	// counted
	queries, rows int
}

func newQueryEnv(t *testing.T) *queryEnv {
	t.Helper()
	f := fixture.Start(t)
	js, _ := json.Marshal(map[string]string{"url": f.URL, "database": f.Database})
	inst, err := plugin.NewDatasource(context.Background(), backend.DataSourceInstanceSettings{UID: "mcptrail-investigation", JSONData: js})
	if err != nil {
		t.Fatal(err)
	}
	ds := inst.(*plugin.Datasource)
	t.Cleanup(ds.Dispose)
	return &queryEnv{f: f, plugin: ds, interval: max(f.To.Sub(f.From)/maxDataPoints, time.Second).Truncate(time.Second)}
}

// context returns the macro context with no variables.
func (e *queryEnv) context() macros.Context {
	return macros.Context{From: e.f.From, To: e.f.To, Interval: e.interval}
}

// runSQL expands sql with c and runs it; it fails on an error or no rows.
func (e *queryEnv) runSQL(t *testing.T, where, sql string, c macros.Context) []string {
	t.Helper()
	q, err := macros.Expand(sql, c)
	if err != nil {
		t.Errorf("%s: expand: %v\n%s", where, err, sql)
		return nil
	}
	rows, err := e.f.Conn.Query(context.Background(), q)
	if err != nil {
		t.Errorf("%s: %v\n%s", where, err, q)
		return nil
	}
	defer rows.Close()
	var first []string
	n := 0
	single := len(rows.ColumnTypes()) == 1
	for rows.Next() {
		n++
		var s string
		if single && rows.Scan(&s) == nil {
			first = append(first, s) // a variable query's options
		}
	}
	if err := rows.Err(); err != nil {
		t.Errorf("%s: %v\n%s", where, err, q)
	}
	e.queries++
	e.rows += n
	if n == 0 {
		t.Errorf("%s: no rows\n%s", where, q)
	}
	return first
}

// runPlugin interpolates a plugin target's fields and runs it through the
// plugin (in process; the plugin package tests the gRPC path).
func (e *queryEnv) runPlugin(t *testing.T, where string, tg Target, c macros.Context) {
	t.Helper()
	var model map[string]any
	if err := json.Unmarshal(tg.JSON, &model); err != nil {
		t.Fatal(err)
	}
	for k, v := range model {
		if s, ok := v.(string); ok {
			out, err := macros.Interpolate(s, c)
			if err != nil {
				t.Errorf("%s: %s: %v", where, k, err)
				return
			}
			model[k] = out
		}
	}
	js, _ := json.Marshal(model)
	resp, err := e.plugin.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
		RefID: tg.RefID, QueryType: tg.QueryType, JSON: js, Interval: e.interval, MaxDataPoints: maxDataPoints,
		TimeRange: backend.TimeRange{From: e.f.From, To: e.f.To},
	}}})
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	r := resp.Responses[tg.RefID]
	e.queries++
	if r.Error != nil {
		t.Errorf("%s: %v (query %s)", where, r.Error, js)
		return
	}
	n := 0
	for _, fr := range r.Frames {
		n += fr.Rows()
	}
	e.rows += n
	if n == 0 {
		t.Errorf("%s: no rows (query %s)", where, js)
	}
}

// preferred is the value each scenario selects first, by variable name.
func (e *queryEnv) preferred(name string) string {
	switch name {
	case "host":
		return e.f.Focus.Host
	case "client":
		return e.f.Focus.Client
	case "server":
		return e.f.Focus.Server
	case "session":
		return e.f.Focus.Session
	case "severity":
		return "high" // the focus session's findings are high
	}
	return ""
}

// variables resolves d's variables in order (a query variable's options
// come from running its query with the variables before it) and selects
// values for the scenario.
func (e *queryEnv) variables(t *testing.T, d *Dashboard, sc scenario) macros.Context {
	t.Helper()
	c := e.context()
	for _, v := range d.Templating.List {
		var options []string
		switch v.Type {
		case "query":
			sql, err := v.SQL()
			if err != nil {
				t.Fatal(err)
			}
			options = e.runSQL(t, fmt.Sprintf("%s: variable %s [%s]", d.File, v.Name, sc), sql, c)
		case "custom", "constant", "textbox":
			options = v.Values()
		default:
			t.Fatalf("%s: variable %s: type %q not handled by the test", d.File, v.Name, v.Type)
		}
		if len(options) == 0 {
			t.Fatalf("%s: variable %s [%s] has no options", d.File, v.Name, sc)
		}
		mv := macros.Variable{Name: v.Name, Multi: v.Multi || v.IncludeAll, CustomAll: v.AllValue, Options: options}
		pick := options[0]
		if p := e.preferred(v.Name); slices.Contains(options, p) {
			pick = p
		} else if p != "" {
			t.Errorf("%s: variable %s [%s]: options %v lack %q", d.File, v.Name, sc, clipList(options), p)
		}
		switch {
		case sc == allSelected && v.IncludeAll:
			mv.All = true
		case sc == twoSelected && v.Multi:
			mv.Values = []string{pick}
			for _, o := range options {
				if o != pick {
					mv.Values = append(mv.Values, o)
					break
				}
			}
		default:
			mv.Values = []string{pick}
		}
		c.Vars = append(c.Vars, mv)
	}
	return c
}

func clipList(s []string) []string {
	if len(s) > 8 {
		return append(s[:8:8], "...")
	}
	return s
}

// TestPanelQueries runs every panel query and variable query of every
// dashboard on the real engine, in three variable scenarios, and every
// alert rule query; each must return rows.
func TestPanelQueries(t *testing.T) {
	start := time.Now()
	e := newQueryEnv(t)
	dashboards := loadAll(t)
	for _, d := range dashboards {
		for _, sc := range []scenario{allSelected, oneSelected, twoSelected} {
			t.Run(d.File+"/"+string(sc), func(t *testing.T) {
				c := e.variables(t, &d, sc)
				for _, p := range d.AllPanels() {
					for _, tg := range p.Targets {
						where := fmt.Sprintf("%s [%s] panel %d %q/%s", d.File, sc, p.ID, p.Title, tg.RefID)
						if tg.Datasource != nil && tg.Datasource.Type == "mcptrail-investigation-datasource" {
							e.runPlugin(t, where, tg, c)
						} else {
							e.runSQL(t, where, tg.RawSQL, c)
						}
					}
				}
			})
		}
	}
	t.Run("alert rules", func(t *testing.T) {
		for _, r := range alertRules(t) {
			for _, q := range r.Data {
				if q.DatasourceUID != "mcptrail-clickhouse" {
					continue
				}
				sql, _ := q.Model["rawSql"].(string)
				e.runSQL(t, "alert rule "+r.UID+"/"+q.RefID, sql, e.context())
			}
		}
	})
	t.Logf("%d queries (panels x 3 variable scenarios, variables, alert rules) returned %d rows in %v (interval %v)",
		e.queries, e.rows, time.Since(start).Round(time.Millisecond), e.interval)
}

// alertRules reads the provisioned alert rules.
func alertRules(t *testing.T) []AlertRule {
	t.Helper()
	var f AlertFile
	if err := ReadYAML(filepath.Join(provisioningDir, "alerting", "mcptrail-findings.yaml"), &f); err != nil {
		t.Fatal(err)
	}
	var out []AlertRule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out
}
