package dashboards

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// pluginQueryTypes are the query types of the mcptrail plugin.
var pluginQueryTypes = []string{"sessionGraph", "findings", "chainScores"}

// wantDashboards are the dashboards the issue asks for, by uid.
var wantDashboards = []string{"mcptrail-findings", "mcptrail-overview", "mcptrail-pipeline", "mcptrail-session", "mcptrail-tokens", "mcptrail-tools"}

func loadAll(t *testing.T) []Dashboard {
	t.Helper()
	ds, err := Load(Files())
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestDashboardsStructure(t *testing.T) {
	dashboards := loadAll(t)
	datasources := provisionedDatasources(t)
	var uids []string
	for _, d := range dashboards {
		uids = append(uids, d.UID)
	}
	slices.Sort(uids)
	if !slices.Equal(uids, wantDashboards) {
		t.Fatalf("dashboard uids %v, want %v", uids, wantDashboards)
	}
	checkRef := func(t *testing.T, where string, r *Ref) {
		t.Helper()
		if r == nil {
			t.Errorf("%s: no data source", where)
			return
		}
		typ, ok := datasources[r.UID]
		if !ok {
			t.Errorf("%s: data source uid %q is not provisioned in deployments/grafana", where, r.UID)
		} else if typ != r.Type {
			t.Errorf("%s: data source %s has type %q, provisioned as %q", where, r.UID, r.Type, typ)
		}
	}
	for _, d := range dashboards {
		t.Run(d.File, func(t *testing.T) {
			if d.Title == "" || d.UID == "" {
				t.Error("a dashboard needs a uid and a title")
			}
			ids := map[int]string{}
			for _, p := range d.AllPanels() {
				where := p.Title
				if p.ID <= 0 {
					t.Errorf("panel %q: id %d", where, p.ID)
				}
				if other, dup := ids[p.ID]; dup {
					t.Errorf("panels %q and %q share id %d", other, where, p.ID)
				}
				ids[p.ID] = where
				if p.Type == "row" {
					continue
				}
				checkRef(t, where, p.Datasource)
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", where)
				}
				refIDs := map[string]bool{}
				for _, tg := range p.Targets {
					w := where + "/" + tg.RefID
					if refIDs[tg.RefID] || tg.RefID == "" {
						t.Errorf("%s: missing or repeated refId", w)
					}
					refIDs[tg.RefID] = true
					checkRef(t, w, tg.Datasource)
					if tg.Datasource == nil {
						continue
					}
					switch tg.Datasource.Type {
					case "grafana-clickhouse-datasource":
						checkSQLTarget(t, w, p.Type, tg)
					case "mcptrail-investigation-datasource":
						if !slices.Contains(pluginQueryTypes, tg.QueryType) {
							t.Errorf("%s: queryType %q, want one of %v", w, tg.QueryType, pluginQueryTypes)
						}
						if tg.QueryType == "sessionGraph" && p.Type != "nodeGraph" {
							t.Errorf("%s: a sessionGraph query belongs in a nodeGraph panel, not %s", w, p.Type)
						}
					}
				}
			}
			for _, v := range d.Templating.List {
				if v.Type == "query" {
					checkRef(t, "variable "+v.Name, v.Datasource)
					if sql, err := v.SQL(); err != nil || sql == "" {
						t.Errorf("variable %s: no SQL (%v)", v.Name, err)
					}
				}
			}
			checkVariables(t, &d)
			checkLinks(t, &d, dashboards)
		})
	}
}

// checkSQLTarget checks a ClickHouse plugin query: SQL editor, raw SQL,
// and a format that matches the panel.
func checkSQLTarget(t *testing.T, where, panelType string, tg Target) {
	t.Helper()
	if tg.EditorType != "sql" {
		t.Errorf("%s: editorType %q, want sql", where, tg.EditorType)
	}
	if strings.TrimSpace(tg.RawSQL) == "" {
		t.Errorf("%s: empty rawSql", where)
	}
	if tg.Format == nil {
		t.Errorf("%s: no format", where)
		return
	}
	wantFormat, wantType := 1, "table"
	if panelType == "timeseries" {
		wantFormat, wantType = 0, "timeseries"
	}
	if *tg.Format != wantFormat || tg.QueryType != wantType {
		t.Errorf("%s: format %d, queryType %q in a %s panel; want %d and %q", where, *tg.Format, tg.QueryType, panelType, wantFormat, wantType)
	}
}

// variableRef matches ${name}, ${name:format}, ${name.path}, $name and [[name]].
var variableRef = regexp.MustCompile(`\$\{(\w+)[^}]*\}|\$(\w+)|\[\[(\w+)`)

// checkVariables checks that every variable referenced anywhere in the
// dashboard is defined, and that every defined variable is used.
func checkVariables(t *testing.T, d *Dashboard) {
	t.Helper()
	used := map[string]bool{}
	walkStrings(d.Raw, "", func(key, s string) {
		if key == "url" && strings.Contains(s, "/d/") {
			return // links name the target dashboard's variables
		}
		for _, m := range variableRef.FindAllStringSubmatch(s, -1) {
			name := m[1] + m[2] + m[3]
			if strings.HasPrefix(name, "__") {
				continue // built-ins and macros
			}
			used[name] = true
			if d.Variable(name) == nil {
				t.Errorf("%s: variable $%s is used (in %q) but not defined", key, name, clip(s))
			}
		}
	})
	for _, v := range d.Templating.List {
		if !used[v.Name] {
			t.Errorf("variable %s is defined but never used", v.Name)
		}
	}
}

// checkLinks checks that every link to a dashboard (/d/UID...) names an
// existing dashboard and only variables it defines.
func checkLinks(t *testing.T, d *Dashboard, all []Dashboard) {
	t.Helper()
	walkStrings(d.Raw, "", func(key, s string) {
		i := strings.Index(s, "/d/")
		if key != "url" || i < 0 {
			return
		}
		u, err := url.Parse(s[i:])
		if err != nil {
			t.Errorf("link %q: %v", s, err)
			return
		}
		uid := strings.Split(strings.TrimPrefix(u.Path, "/d/"), "/")[0]
		var target *Dashboard
		for j := range all {
			if all[j].UID == uid {
				target = &all[j]
			}
		}
		if target == nil {
			t.Errorf("link %q: no dashboard with uid %q", s, uid)
			return
		}
		for _, part := range strings.Split(u.RawQuery, "&") {
			name, _, _ := strings.Cut(part, "=")
			if v, ok := strings.CutPrefix(name, "var-"); ok && target.Variable(v) == nil {
				t.Errorf("link %q: dashboard %s has no variable %q", s, uid, v)
			}
		}
	})
}

// walkStrings calls fn with every string in v and the key it is under.
func walkStrings(v any, key string, fn func(key, s string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walkStrings(e, k, fn)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, key, fn)
		}
	case string:
		fn(key, x)
	}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func TestLinksToSessionDashboard(t *testing.T) {
	// The findings, overview, tokens, tools and pipeline dashboards lead
	// into the session view.
	for _, d := range loadAll(t) {
		if d.UID == "mcptrail-session" {
			continue
		}
		found := false
		walkStrings(d.Raw, "", func(key, s string) {
			if key == "url" && strings.Contains(s, "/d/mcptrail-session/") && strings.Contains(s, "var-session=") {
				found = true
			}
		})
		if !found {
			t.Errorf("%s: no link into the session dashboard", d.File)
		}
	}
}
