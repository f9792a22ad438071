package dashboards

import (
	"fmt"
	"os"

	"github.com/goccy/go-yaml"
)

// DatasourceFile is a Grafana data-source provisioning file.
type DatasourceFile struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name     string         `yaml:"name"`
		UID      string         `yaml:"uid"`
		Type     string         `yaml:"type"`
		JSONData map[string]any `yaml:"jsonData"`
	} `yaml:"datasources"`
}

// DashboardProviderFile is a Grafana dashboard-provider provisioning file.
type DashboardProviderFile struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name    string `yaml:"name"`
		Type    string `yaml:"type"`
		Folder  string `yaml:"folder"`
		Options struct {
			Path string `yaml:"path"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

// AlertQuery is one entry of an alert rule's data.
type AlertQuery struct {
	RefID             string `yaml:"refId"`
	DatasourceUID     string `yaml:"datasourceUid"`
	RelativeTimeRange struct {
		From int `yaml:"from"`
		To   int `yaml:"to"`
	} `yaml:"relativeTimeRange"`
	Model map[string]any `yaml:"model"`
}

// AlertRule is a Grafana-managed alert rule.
type AlertRule struct {
	UID         string            `yaml:"uid"`
	Title       string            `yaml:"title"`
	Condition   string            `yaml:"condition"`
	Data        []AlertQuery      `yaml:"data"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// AlertFile is a Grafana alerting provisioning file.
type AlertFile struct {
	APIVersion int `yaml:"apiVersion"`
	Groups     []struct {
		Name     string      `yaml:"name"`
		Folder   string      `yaml:"folder"`
		Interval string      `yaml:"interval"`
		Rules    []AlertRule `yaml:"rules"`
	} `yaml:"groups"`
}

// ReadYAML decodes the YAML file at path into v (a *DatasourceFile,
// *DashboardProviderFile or *AlertFile). Fields the types do not name are
// ignored: Grafana's files have many that the checks do not need.
func ReadYAML(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("dashboards: %w", err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("dashboards: %s: %w", path, err)
	}
	return nil
}
