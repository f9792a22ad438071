package deployments_test

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// composeFile is what the checks read of a compose file.
type composeFile struct {
	Services map[string]*composeService `yaml:"services"`
	Volumes  map[string]any             `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn map[string]any `yaml:"depends_on"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
	Target     string `yaml:"target"`
}

// mount is a volume of a service: a bind mount of a repository path
// (src, repository-relative) or a named volume.
type mount struct {
	src, target string
	bind        bool
}

func parseMount(dir, v string) mount {
	parts := strings.Split(v, ":")
	m := mount{src: parts[0]}
	if len(parts) > 1 {
		m.target = parts[1]
	}
	if strings.HasPrefix(m.src, ".") || strings.HasPrefix(m.src, "/") {
		m.bind = true
		m.src = path.Join(dir, m.src)
	}
	return m
}

// interpolate resolves compose's variables as if none were set: ${VAR:-x}
// and ${VAR-x} take their default (itself interpolated), ${VAR},
// ${VAR:?msg} and $VAR become "placeholder", and $$ is a $.
func interpolate(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '{':
			depth, j := 1, i+2
			for ; j < len(s) && depth > 0; j++ {
				switch s[j] {
				case '{':
					depth++
				case '}':
					depth--
				}
			}
			if depth != 0 {
				return "", fmt.Errorf("unclosed ${ at %q", s[i:min(len(s), i+30)])
			}
			inner := s[i+2 : j-1]
			value := "placeholder"
			if k := strings.IndexAny(inner, ":-?"); k >= 0 {
				op := inner[k:]
				if strings.HasPrefix(op, ":-") || strings.HasPrefix(op, "-") {
					def := strings.TrimPrefix(strings.TrimPrefix(op, ":"), "-")
					v, err := interpolate(def)
					if err != nil {
						return "", err
					}
					value = v
				}
			}
			b.WriteString(value)
			i = j - 1
		case next == '_' || next >= 'A' && next <= 'Z' || next >= 'a' && next <= 'z':
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			b.WriteString("placeholder")
			i = j - 1
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), nil
}

var healthzURL = regexp.MustCompile(`https?://[^/\s]+:([0-9]+)/healthz`)

// checkCompose checks a compose file (repository-relative path).
func (c *checker) checkCompose(rel string) {
	data, err := c.read(rel)
	if err != nil {
		c.problemf("%s: %v", rel, err)
		return
	}
	text, err := interpolate(string(data))
	if err != nil {
		c.problemf("%s: %v", rel, err)
		return
	}
	var f composeFile
	if err := yaml.Unmarshal([]byte(text), &f); err != nil {
		c.problemf("%s: %v", rel, err)
		return
	}
	dir := path.Dir(rel)
	names := make([]string, 0, len(f.Services))
	for name := range f.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	dockerfiles := map[string]*dockerfile{}
	metricsPorts := map[string]int{} // service -> --metrics-listen port
	for _, name := range names {
		s := f.Services[name]
		where := rel + ": service " + name
		if why := pinned(s.Image); why != "" {
			c.problemf("%s: %s", where, why)
		}
		var df *dockerfile
		if s.Build != nil {
			file := path.Join(dir, s.Build.Context, s.Build.Dockerfile)
			if dockerfiles[file] == nil {
				dockerfiles[file] = c.dockerfile(file)
			}
			df = dockerfiles[file]
			if df != nil && !slices.Contains(df.stages, s.Build.Target) {
				c.problemf("%s: build target %q is no stage of %s", where, s.Build.Target, file)
			}
		}
		for dep := range s.DependsOn {
			if f.Services[dep] == nil {
				c.problemf("%s: depends on %q, which is no service", where, dep)
			}
		}
		for _, v := range s.Volumes {
			m := parseMount(dir, v)
			if m.bind {
				if ok, _ := c.exists(m.src); !ok {
					c.problemf("%s: volume source %s does not exist in the repository", where, m.src)
				}
			} else if _, ok := f.Volumes[m.src]; !ok {
				c.problemf("%s: named volume %q is not declared under volumes", where, m.src)
			}
		}
		if df == nil || s.Build.Target == "" || len(s.Command) == 0 {
			continue
		}
		entrypoint := s.Entrypoint
		if entrypoint == nil {
			entrypoint = df.entrypoint[s.Build.Target]
		}
		bin, ok := c.binaryOf(where, entrypoint)
		if !ok {
			continue
		}
		inv, err := parseInvocation(bin, append(entrypoint[1:len(entrypoint):len(entrypoint)], s.Command...))
		if err != nil {
			c.problemf("%s: %v", where, err)
			continue
		}
		read := inv.envRead()
		for k := range s.Environment {
			if !read[k] {
				c.problemf("%s: sets %s, which %s does not read", where, k, inv.cmd.CommandPath())
			}
		}
		port, serves, err := inv.metricsPort()
		switch {
		case err != nil:
			c.problemf("%s: %v", where, err)
		case serves:
			metricsPorts[name] = port
			var test string
			if s.Healthcheck != nil {
				test = strings.Join(s.Healthcheck.Test, " ")
			}
			if m := healthzURL.FindStringSubmatch(test); m == nil || m[1] != strconv.Itoa(port) {
				c.problemf("%s: the healthcheck %q does not get /healthz on the --metrics-listen port %d", where, test, port)
			}
		}
	}
	for _, name := range names {
		for _, v := range f.Services[name].Volumes {
			m := parseMount(dir, v)
			switch {
			case !m.bind:
			case m.target == "/etc/grafana/provisioning":
				c.checkGrafana(rel+": service "+name, f.Services[name], m.src, dir, dockerfiles)
			case m.target == "/etc/prometheus/prometheus.yml":
				c.checkPrometheus(rel+": service "+name, m.src, metricsPorts)
			}
		}
	}
}

// checkPrometheus checks that Prometheus scrapes every service that serves
// metrics, on its --metrics-listen port.
func (c *checker) checkPrometheus(where, rel string, metricsPorts map[string]int) {
	data, err := c.read(rel)
	if err != nil {
		c.problemf("%s: %v", where, err)
		return
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		c.problemf("%s: %v", rel, err)
		return
	}
	scraped := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, _ := strings.Cut(target, ":")
				want, ok := metricsPorts[host]
				if !ok {
					continue
				}
				scraped[host] = true
				if port != strconv.Itoa(want) {
					c.problemf("%s: job %s scrapes %s, but %s serves metrics on port %d", rel, sc.JobName, target, host, want)
				}
			}
		}
	}
	for svc := range metricsPorts {
		if !scraped[svc] {
			c.problemf("%s: nothing scrapes service %s's metrics", rel, svc)
		}
	}
}

// grafanaPluginEnv are the variables that install Grafana plugins at
// start-up: id@version (or "id version" for the older variable), comma
// separated.
var grafanaPluginEnv = []string{"GF_PLUGINS_PREINSTALL_SYNC", "GF_PLUGINS_PREINSTALL", "GF_INSTALL_PLUGINS"}

// grafanaEnvRef is a variable in a provisioning file: Grafana expands
// ${NAME} from its environment (bare $name is left to alert templates and
// macros here).
var grafanaEnvRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// checkGrafana checks the Grafana service against the provisioning it
// mounts from prov: the provisioning folders and the dashboards' folder
// exist, every data source's type is a plugin Grafana gets (installed at a
// pinned version, or mcptrail's own, allowed unsigned), and every
// variable the provisioning files use is set.
func (c *checker) checkGrafana(where string, s *composeService, prov, dir string, dockerfiles map[string]*dockerfile) {
	for _, sub := range []string{"datasources", "dashboards"} {
		if ok, isDir := c.exists(path.Join(prov, sub)); !ok || !isDir {
			c.problemf("%s: provisioning folder %s/%s does not exist", where, prov, sub)
		}
	}
	env := map[string]string{}
	if s.Build != nil {
		if df := dockerfiles[path.Join(dir, s.Build.Context, s.Build.Dockerfile)]; df != nil {
			for k, v := range df.env[s.Build.Target] {
				env[k] = v
			}
		}
	}
	for k, v := range s.Environment {
		env[k] = v
	}

	installed := map[string]bool{}
	for _, name := range grafanaPluginEnv {
		for _, p := range strings.Split(env[name], ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			id, version, ok := strings.Cut(p, "@")
			if !ok {
				id, version, ok = strings.Cut(p, " ")
			}
			if !ok || !pinnedTag.MatchString(version) {
				c.problemf("%s: %s installs %q without an exact version (id@1.2.3)", where, name, p)
			}
			installed[id] = true
		}
	}
	own := c.pluginID(where)
	unsigned := map[string]bool{}
	for _, id := range strings.Split(env["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"], ",") {
		unsigned[strings.TrimSpace(id)] = true
	}
	if own != "" && !unsigned[own] {
		c.problemf("%s: GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS does not allow mcptrail's plugin %s", where, own)
	}

	used := map[string]bool{}
	dsDir := path.Join(prov, "datasources")
	provFiles := []string{}
	for _, sub := range []string{"datasources", "dashboards", "alerting"} {
		for _, name := range c.list(path.Join(prov, sub)) {
			if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") {
				provFiles = append(provFiles, path.Join(prov, sub, name))
			}
		}
	}
	for _, file := range provFiles {
		data, err := c.read(file)
		if err != nil {
			c.problemf("%s: %v", file, err)
			continue
		}
		for _, m := range grafanaEnvRef.FindAllStringSubmatch(string(data), -1) {
			name := m[1]
			if _, ok := env[name]; !ok {
				c.problemf("%s: %s uses $%s, which the Grafana service does not set", where, file, name)
			}
		}
		switch path.Dir(file) {
		case dsDir:
			var ds struct {
				Datasources []struct {
					Name string `yaml:"name"`
					Type string `yaml:"type"`
				} `yaml:"datasources"`
			}
			if err := yaml.Unmarshal(data, &ds); err != nil {
				c.problemf("%s: %v", file, err)
				continue
			}
			for _, d := range ds.Datasources {
				used[d.Type] = true
				if !installed[d.Type] && d.Type != own {
					c.problemf("%s: data source %q has type %s, which no plugin the Grafana service installs provides (installed: %v)", file, d.Name, d.Type, sortedKeys(installed))
				}
			}
		case path.Join(prov, "dashboards"):
			c.checkDashboardProviders(where, file, data, s, dir)
		}
	}
	for id := range installed {
		if !used[id] {
			c.problemf("%s: installs plugin %s, which no provisioned data source uses", where, id)
		}
	}
}

// checkDashboardProviders checks that every file provider's path is a
// folder the Grafana service mounts, holding dashboards.
func (c *checker) checkDashboardProviders(where, file string, data []byte, s *composeService, dir string) {
	var p struct {
		Providers []struct {
			Name    string `yaml:"name"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(data, &p); err != nil {
		c.problemf("%s: %v", file, err)
		return
	}
	for _, prov := range p.Providers {
		found := false
		for _, v := range s.Volumes {
			m := parseMount(dir, v)
			if !m.bind || m.target != prov.Options.Path {
				continue
			}
			found = true
			if !slices.ContainsFunc(c.list(m.src), func(n string) bool { return strings.HasSuffix(n, ".json") }) {
				c.problemf("%s: %s mounted for dashboard provider %s holds no dashboards", where, m.src, prov.Name)
			}
		}
		if !found {
			c.problemf("%s: dashboard provider %s reads %s, which the Grafana service does not mount", where, prov.Name, prov.Options.Path)
		}
	}
}

// pluginID is the id of mcptrail's Grafana plugin (dashboards/plugin).
func (c *checker) pluginID(where string) string {
	data, err := c.read("dashboards/plugin/plugin.json")
	if err != nil {
		c.problemf("%s: %v", where, err)
		return ""
	}
	var p struct {
		ID string `yaml:"id"`
	}
	if err := yaml.Unmarshal(data, &p); err != nil || p.ID == "" {
		c.problemf("dashboards/plugin/plugin.json: no id (%v)", err)
	}
	return p.ID
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
