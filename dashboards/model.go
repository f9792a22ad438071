package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed json/*.json
var embedded embed.FS

// Files returns the dashboard JSON files (read-only).
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "json")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// Ref names a data source by plugin type and uid.
type Ref struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Target is one query of a panel. The ClickHouse plugin's fields are
// rawSql, editorType, format and queryType; the mcptrail plugin's are
// queryType and its parameters. JSON keeps the whole query.
type Target struct {
	RefID      string `json:"refId"`
	Datasource *Ref   `json:"datasource"`
	EditorType string `json:"editorType"`
	Format     *int   `json:"format"`
	QueryType  string `json:"queryType"`
	RawSQL     string `json:"rawSql"`
	JSON       json.RawMessage
}

// UnmarshalJSON decodes a target and keeps its JSON.
func (t *Target) UnmarshalJSON(b []byte) error {
	type plain Target
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*t = Target(p)
	t.JSON = append(json.RawMessage(nil), b...)
	return nil
}

// Panel is a dashboard panel; a row holds its (collapsed) panels.
type Panel struct {
	ID         int      `json:"id"`
	Type       string   `json:"type"`
	Title      string   `json:"title"`
	Datasource *Ref     `json:"datasource"`
	Targets    []Target `json:"targets"`
	Panels     []Panel  `json:"panels"`
}

// Option is one option of a custom variable.
type Option struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

// Variable is a template variable.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Datasource *Ref            `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
	Options    []Option        `json:"options"`
}

// SQL returns the SQL of a query variable, whether its query is a string
// or the ClickHouse plugin's query object.
func (v *Variable) SQL() (string, error) {
	if len(v.Query) == 0 {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v.Query, &s); err == nil {
		return s, nil
	}
	var q struct {
		RawSQL string `json:"rawSql"`
	}
	if err := json.Unmarshal(v.Query, &q); err != nil {
		return "", fmt.Errorf("variable %s: query: %w", v.Name, err)
	}
	return q.RawSQL, nil
}

// Values returns the options of a custom, constant or textbox variable.
func (v *Variable) Values() []string {
	var out []string
	for _, o := range v.Options {
		out = append(out, o.Value)
	}
	if len(out) > 0 {
		return out
	}
	var s string
	if json.Unmarshal(v.Query, &s) == nil && s != "" {
		for _, x := range strings.Split(s, ",") {
			out = append(out, strings.TrimSpace(x))
		}
	}
	return out
}

// Dashboard is one dashboard file.
type Dashboard struct {
	File       string `json:"-"`
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Panels     []Panel
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
	// Raw is the whole document, for checks that walk every value.
	Raw map[string]any `json:"-"`
}

// AllPanels returns the panels, with the panels of rows flattened in.
func (d *Dashboard) AllPanels() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// Variable returns the template variable named name, or nil.
func (d *Dashboard) Variable(name string) *Variable {
	for i := range d.Templating.List {
		if d.Templating.List[i].Name == name {
			return &d.Templating.List[i]
		}
	}
	return nil
}

// Load reads every *.json file of fsys as a dashboard, sorted by file name.
func Load(fsys fs.FS) ([]Dashboard, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("dashboards: %w", err)
	}
	sort.Strings(names)
	var out []Dashboard
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("dashboards: %w", err)
		}
		var d Dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", name, err)
		}
		if err := json.Unmarshal(b, &d.Raw); err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", name, err)
		}
		d.File = path.Base(name)
		out = append(out, d)
	}
	return out, nil
}
