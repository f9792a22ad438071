// Package deployments_test checks the deployment files (compose file,
// Kubernetes manifests, Dockerfile, collector configuration) against the
// repository, since Docker and Kubernetes do not run here: images pinned
// to exact versions, every flag passed to an mcptrail binary one of its
// command's flags, metrics ports in probes, healthchecks, Services and
// scrape targets equal to --metrics-listen, environment variables read by
// the binaries, mounted paths present, and Grafana's plugins matching the
// provisioned data sources.
package deployments_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// The deployment files, repository-relative.
const (
	composePath     = "deployments/compose/compose.yaml"
	collectorConfig = "deployments/compose/collector.yaml"
	kubernetesDir   = "deployments/kubernetes"
	dockerfileFile  = "deployments/docker/Dockerfile"
)

// check runs every check with the files of override in place of the
// repository's, and returns the problems.
func check(t *testing.T, override map[string]string) []string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	c := &checker{root: root, override: override}
	c.dockerfile(dockerfileFile)
	c.checkCompose(composePath)
	c.checkKubernetes(kubernetesDir, dockerfileFile)
	c.checkCollectorConfig(collectorConfig)
	return c.problems
}

func TestDeploymentFiles(t *testing.T) {
	for _, p := range check(t, nil) {
		t.Error(p)
	}
}

// TestBrokenCopies: each check finds a deliberately broken copy of a file.
func TestBrokenCopies(t *testing.T) {
	tests := []struct {
		name, file, old, new, want string
	}{
		{"compose image latest", composePath, "prom/alertmanager:v0.28.1", "prom/alertmanager:latest", `"prom/alertmanager:latest" is not pinned`},
		{"compose bare image", composePath, "apache/kafka:3.9.1", "apache/kafka", `"apache/kafka" is not pinned: no tag`},
		{"compose branch tag", composePath, "clickhouse/clickhouse-server:25.8.18.1\n    environment", "clickhouse/clickhouse-server:25.8\n    environment", "not pinned to an exact version"},
		{"Dockerfile base unpinned", dockerfileFile, "FROM alpine:3.22.2", "FROM alpine", `FROM alpine: image "alpine" is not pinned`},
		{"compose unknown flag", composePath, `"--data-dir"`, `"--data-directory"`, "unknown flag: --data-directory"},
		{"compose bad flag value", composePath, "      - --database\n      - mcptrail\n      - --group\n      - processor", "      - --batch-rows\n      - many\n      - --group\n      - processor", `invalid argument "many" for "--batch-rows"`},
		{"compose unknown subcommand", composePath, `command: ["bus",`, `command: ["broker",`, "unknown command"},
		{"compose no metrics", composePath, "      - --instance\n      - processor\n      - --metrics-listen\n      - 0.0.0.0:9464\n", "      - --instance\n      - processor\n", "runs without --metrics-listen"},
		{"compose healthcheck port", composePath, "http://127.0.0.1:9464/healthz", "http://127.0.0.1:9465/healthz", "does not get /healthz on the --metrics-listen port 9464"},
		{"compose env not read", composePath, "      MCPTRAIL_BUS_TOKEN: ${", "      MCPTRAIL_BUS_TOKN: ${", "sets MCPTRAIL_BUS_TOKN, which mcptrail bus does not read"},
		{"compose volume missing", composePath, "../grafana/provisioning:", "../grafana/provisionin:", "volume source deployments/grafana/provisionin does not exist"},
		{"compose config missing", composePath, "../clickhouse/config.d/mcptrail.xml:", "../clickhouse/config.d/mcptrail.yaml:", "volume source deployments/clickhouse/config.d/mcptrail.yaml does not exist"},
		{"compose named volume undeclared", composePath, "  prometheus-data:\n", "", `named volume "prometheus-data" is not declared`},
		{"compose dashboards not mounted", composePath, ":/var/lib/grafana/dashboards/mcptrail:ro", ":/var/lib/grafana/dashboards/other:ro", "dashboard provider mcptrail reads /var/lib/grafana/dashboards/mcptrail, which the Grafana service does not mount"},
		{"compose ClickHouse plugin id", composePath, "grafana-clickhouse-datasource@4.11.2", "vertamedia-clickhouse-datasource@3.3.0", "has type grafana-clickhouse-datasource, which no plugin"},
		{"compose ClickHouse plugin version", composePath, "grafana-clickhouse-datasource@4.11.2", "grafana-clickhouse-datasource", "without an exact version"},
		{"compose own plugin not allowed", composePath, "      GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS: mcptrail-investigation-datasource\n", "      GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS: other-datasource\n", "does not allow mcptrail's plugin mcptrail-investigation-datasource"},
		{"compose provisioning variable unset", composePath, "      MCPTRAIL_CLICKHOUSE_HOST: clickhouse\n", "", "uses $MCPTRAIL_CLICKHOUSE_HOST, which the Grafana service does not set"},
		{"compose build target", composePath, "target: grafana", "target: grafna", `build target "grafna" is no stage`},
		{"compose depends on nothing", composePath, "      alertmanager: {condition: service_healthy}", "      alert-manager: {condition: service_healthy}", `depends on "alert-manager"`},
		{"prometheus target port", "deployments/compose/prometheus.yml", `"process:9464"`, `"process:9465"`, "scrapes process:9465, but process serves metrics on port 9464"},
		{"prometheus target missing", "deployments/compose/prometheus.yml", "  - job_name: mcptrail-detect\n    static_configs:\n      - targets: [\"detect:9464\"]\n", "", "nothing scrapes service detect's metrics"},
		{"k8s unknown flag", kubernetesDir + "/processor.yaml", "--group=processor", "--grp=processor", "unknown flag: --grp"},
		{"k8s metrics port", kubernetesDir + "/processor.yaml", "--metrics-listen=0.0.0.0:9464", "--metrics-listen=0.0.0.0:9465", "no containerPort 9465"},
		{"k8s readiness path", kubernetesDir + "/detector.yaml", "path: /readyz", "path: /ready", "readinessProbe gets /ready, want /readyz"},
		{"k8s liveness port", kubernetesDir + "/detector.yaml", "httpGet: {path: /healthz, port: metrics}", "httpGet: {path: /healthz, port: 8080}", "livenessProbe port 8080 is not the --metrics-listen port 9464"},
		{"k8s no limits", kubernetesDir + "/processor.yaml", "            limits: {cpu: \"2\", memory: 1Gi}\n", "", "no resource limits for cpu"},
		{"k8s undefined variable", kubernetesDir + "/processor.yaml", "$(POD_NAME)", "$(POD)", "args use $(POD), which the container's env does not define"},
		{"k8s unused variable", kubernetesDir + "/processor.yaml", "--instance=$(POD_NAME)", "--instance=processor", "sets POD_NAME, which neither mcptrail process reads nor its args use"},
		{"k8s missing secret key", kubernetesDir + "/config.yaml", "  MCPTRAIL_CLICKHOUSE_WRITER_URL:", "  MCPTRAIL_CLICKHOUSE_URL:", "Secret mcptrail-credentials key MCPTRAIL_CLICKHOUSE_WRITER_URL, which the manifests do not define"},
		{"k8s service port", kubernetesDir + "/detector.yaml", "      targetPort: metrics", "      targetPort: 8080", "targets 8080, not the --metrics-listen port 9464"},
		{"k8s service selector", kubernetesDir + "/processor.yaml", "  selector:\n    app.kubernetes.io/name: mcptrail-processor\n  ports:", "  selector:\n    app.kubernetes.io/name: mcptrail-process\n  ports:", "no Service selects it"},
		{"k8s image latest", kubernetesDir + "/migrate-job.yaml", "mcptrail/mcptrail:0.1.0", "mcptrail/mcptrail:latest", `"mcptrail/mcptrail:latest" is not pinned`},
		{"kustomization misses a file", kubernetesDir + "/kustomization.yaml", "  - detector.yaml\n", "", "detector.yaml is not among its resources"},
		{"kustomization missing file", kubernetesDir + "/kustomization.yaml", "  - detector.yaml\n", "  - detector.yaml\n  - gone.yaml\n", "gone.yaml"},
		{"collector config unknown key", collectorConfig, "log-level: info", "loglevel: info", `unknown option "loglevel"`},
		{"collector config bad value", collectorConfig, "spool-max: 256MiB", "spool-max: plenty", `option "spool-max"`},
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig, err := (&checker{root: root}).read(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(orig), tt.old) {
				t.Fatalf("%s does not contain %q: the broken copy would be the original", tt.file, tt.old)
			}
			broken := strings.Replace(string(orig), tt.old, tt.new, 1)
			problems := check(t, map[string]string{tt.file: broken})
			for _, p := range problems {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("no problem mentions %q; problems:\n%s", tt.want, strings.Join(problems, "\n"))
		})
	}
}

// checkCollectorConfig checks an example collector configuration: every
// key is an option (flag) of mcptrail-collector wrap and proxy, with a
// value the flag accepts.
func (c *checker) checkCollectorConfig(rel string) {
	data, err := c.read(rel)
	if err != nil {
		c.problemf("%s: %v", rel, err)
		return
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		c.problemf("%s: %v", rel, err)
		return
	}
	for _, sub := range []string{"wrap", "proxy"} {
		root := binaries["mcptrail-collector"].newRoot()
		cmd, _, err := root.Find([]string{sub})
		if err != nil {
			c.problemf("%s: %v", rel, err)
			continue
		}
		for _, key := range sortedKeys(doc) {
			f := cmd.Flags().Lookup(key)
			if f == nil || key == "config" || key == "help" {
				c.problemf("%s: unknown option %q (not a flag of mcptrail-collector %s)", rel, key, sub)
				continue
			}
			values, ok := doc[key].([]any)
			if !ok {
				values = []any{doc[key]}
			}
			for _, v := range values {
				if err := f.Value.Set(strings.TrimSpace(yamlScalar(v))); err != nil {
					c.problemf("%s: option %q: %v", rel, key, err)
				}
			}
		}
	}
}

// yamlScalar writes a YAML scalar as a flag value.
func yamlScalar(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := yaml.Marshal(v)
	return string(b)
}
