package dashboards

import (
	"slices"
	"strings"
	"testing"
)

// TestAlertRules checks the provisioned alert rules' structure: one rule
// for critical and one for high findings, each a ClickHouse query reduced
// and thresholded by expressions that refer to existing refIds. Their SQL
// runs on the real engine in TestPanelQueries.
func TestAlertRules(t *testing.T) {
	datasources := provisionedDatasources(t)
	rules := alertRules(t)
	var severities []string
	for _, r := range rules {
		t.Run(r.UID, func(t *testing.T) {
			if r.UID == "" || r.Title == "" {
				t.Error("a rule needs a uid and a title")
			}
			severities = append(severities, r.Labels["severity"])
			refs := map[string]AlertQuery{}
			for _, q := range r.Data {
				refs[q.RefID] = q
			}
			if _, ok := refs[r.Condition]; !ok {
				t.Errorf("condition %q is not a refId of the rule", r.Condition)
			}
			sqlQueries := 0
			for _, q := range r.Data {
				switch q.DatasourceUID {
				case "__expr__":
					expr, _ := q.Model["expression"].(string)
					if _, ok := refs[expr]; !ok {
						t.Errorf("%s: expression refers to %q, not a refId", q.RefID, expr)
					}
				default:
					if datasources[q.DatasourceUID] != "grafana-clickhouse-datasource" {
						t.Errorf("%s: data source %q is not the provisioned ClickHouse data source", q.RefID, q.DatasourceUID)
					}
					sql, _ := q.Model["rawSql"].(string)
					if !strings.Contains(sql, "$__timeFilter(ts)") || !strings.Contains(sql, "severity = '"+r.Labels["severity"]+"'") {
						t.Errorf("%s: the query must filter on the time range and on the rule's severity: %s", q.RefID, sql)
					}
					if q.Model["editorType"] != "sql" || q.Model["format"] != uint64(1) && q.Model["format"] != 1 {
						t.Errorf("%s: want editorType sql and table format, got %v %v", q.RefID, q.Model["editorType"], q.Model["format"])
					}
					if q.RelativeTimeRange.From <= 0 {
						t.Errorf("%s: no relative time range", q.RefID)
					}
					sqlQueries++
				}
			}
			if sqlQueries != 1 {
				t.Errorf("%d ClickHouse queries, want 1", sqlQueries)
			}
		})
	}
	slices.Sort(severities)
	if !slices.Equal(severities, []string{"critical", "high"}) {
		t.Errorf("rules for severities %v, want critical and high", severities)
	}
}
