package dashboards

import (
	"path/filepath"
	"testing"
)

// provisioningDir holds the Grafana provisioning files.
var provisioningDir = filepath.Join("..", "deployments", "grafana", "provisioning")

// provisionedDatasources returns the provisioned data sources' types by uid.
func provisionedDatasources(t *testing.T) map[string]string {
	t.Helper()
	var f DatasourceFile
	if err := ReadYAML(filepath.Join(provisioningDir, "datasources", "mcptrail.yaml"), &f); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, ds := range f.Datasources {
		if ds.UID == "" || ds.Type == "" {
			t.Errorf("data source %q: uid and type are required", ds.Name)
		}
		if _, dup := out[ds.UID]; dup {
			t.Errorf("data source uid %q provisioned twice", ds.UID)
		}
		out[ds.UID] = ds.Type
	}
	return out
}

func TestProvisioning(t *testing.T) {
	ds := provisionedDatasources(t)
	for uid, typ := range map[string]string{
		"mcptrail-clickhouse":    "grafana-clickhouse-datasource",
		"mcptrail-investigation": "mcptrail-investigation-datasource",
	} {
		if ds[uid] != typ {
			t.Errorf("data source %s has type %q, want %q", uid, ds[uid], typ)
		}
	}
	var p DashboardProviderFile
	if err := ReadYAML(filepath.Join(provisioningDir, "dashboards", "mcptrail.yaml"), &p); err != nil {
		t.Fatal(err)
	}
	if p.APIVersion != 1 || len(p.Providers) != 1 {
		t.Fatalf("dashboard providers: apiVersion %d, %d providers; want 1 and 1", p.APIVersion, len(p.Providers))
	}
	if pr := p.Providers[0]; pr.Type != "file" || pr.Options.Path == "" || pr.Folder == "" {
		t.Errorf("dashboard provider %+v: want a file provider with a path and a folder", pr)
	}
}
