package deployments_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// k8sObject is what the checks read of a Kubernetes object.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name        string            `yaml:"name"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		// Deployment and Job.
		Template *struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				Containers []k8sContainer `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
		// Deployment: {matchLabels: {...}}; Service: the labels.
		Selector map[string]any `yaml:"selector"`
		// Service.
		Ports []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
	file string
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef    *k8sKeyRef `yaml:"secretKeyRef"`
			ConfigMapKeyRef *k8sKeyRef `yaml:"configMapKeyRef"`
			FieldRef        *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom        []any     `yaml:"envFrom"`
	Ports          []k8sPort `yaml:"ports"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]any `yaml:"requests"`
		Limits   map[string]any `yaml:"limits"`
	} `yaml:"resources"`
}

type k8sPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
}

type k8sKeyRef struct {
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

// k8sVar is a dependent environment variable reference in args.
var k8sVar = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// servedPod is a pod template that serves metrics.
type servedPod struct {
	where  string
	labels map[string]string
	port   int
	ports  map[string]int // container port name -> number
}

// checkKubernetes checks the manifests of a kustomization folder.
func (c *checker) checkKubernetes(dir, dockerfileRel string) {
	kust := path.Join(dir, "kustomization.yaml")
	data, err := c.read(kust)
	if err != nil {
		c.problemf("%s: %v", kust, err)
		return
	}
	var k struct {
		Resources []string `yaml:"resources"`
		Images    []struct {
			Name   string `yaml:"name"`
			NewTag string `yaml:"newTag"`
		} `yaml:"images"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		c.problemf("%s: %v", kust, err)
		return
	}
	for _, name := range c.list(dir) {
		if (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) && name != "kustomization.yaml" && !slices.Contains(k.Resources, name) {
			c.problemf("%s: %s is not among its resources", kust, name)
		}
	}
	for _, img := range k.Images {
		if why := pinned(img.Name + ":" + img.NewTag); why != "" {
			c.problemf("%s: images: %s", kust, why)
		}
	}
	var objs []*k8sObject
	for _, res := range k.Resources {
		objs = append(objs, c.readManifests(path.Join(dir, res))...)
	}
	df := c.dockerfile(dockerfileRel)
	keys := map[string]map[string]bool{} // "ConfigMap/name" -> keys
	for _, o := range objs {
		if o.Kind == "ConfigMap" || o.Kind == "Secret" {
			set := map[string]bool{}
			for key := range o.Data {
				set[key] = true
			}
			for key := range o.StringData {
				set[key] = true
			}
			keys[o.Kind+"/"+o.Metadata.Name] = set
		}
	}
	var served []servedPod
	for _, o := range objs {
		if o.Spec.Template == nil {
			continue
		}
		where := o.file + ": " + o.Kind + " " + o.Metadata.Name
		labels := o.Spec.Template.Metadata.Labels
		if o.Kind == "Deployment" {
			match, _ := o.Spec.Selector["matchLabels"].(map[string]any)
			if len(match) == 0 || !selects(match, labels) {
				c.problemf("%s: selector %v does not select its pod labels %v", where, match, labels)
			}
		}
		for _, ct := range o.Spec.Template.Spec.Containers {
			if sp, ok := c.checkContainer(where+" container "+ct.Name, ct, o.Kind, df, keys); ok {
				sp.labels = labels
				served = append(served, sp)
			}
		}
	}
	for _, sp := range served {
		found := false
		for _, o := range objs {
			if o.Kind == "Service" && len(o.Spec.Selector) > 0 && selects(o.Spec.Selector, sp.labels) {
				found = true
				c.checkService(o, sp)
			}
		}
		if !found {
			c.problemf("%s: no Service selects it for metrics scraping", sp.where)
		}
	}
}

// readManifests decodes every document of a manifest file.
func (c *checker) readManifests(rel string) []*k8sObject {
	data, err := c.read(rel)
	if err != nil {
		c.problemf("%s: %v", rel, err)
		return nil
	}
	var out []*k8sObject
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		o := &k8sObject{file: rel}
		err := dec.Decode(o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.problemf("%s: %v", rel, err)
			break
		}
		if o.Kind == "" {
			c.problemf("%s: a document without a kind", rel)
			continue
		}
		out = append(out, o)
	}
	return out
}

// checkContainer checks a container's image, command line, environment,
// resources and probes; for a container that serves metrics it returns
// its port.
func (c *checker) checkContainer(where string, ct k8sContainer, kind string, df *dockerfile, keys map[string]map[string]bool) (servedPod, bool) {
	if why := pinned(ct.Image); why != "" {
		c.problemf("%s: %s", where, why)
	}
	for _, res := range []struct {
		what string
		m    map[string]any
	}{{"requests", ct.Resources.Requests}, {"limits", ct.Resources.Limits}} {
		for _, r := range []string{"cpu", "memory"} {
			if res.m[r] == nil {
				c.problemf("%s: no resource %s for %s", where, res.what, r)
			}
		}
	}
	if len(ct.EnvFrom) > 0 {
		c.problemf("%s: envFrom sets variables the check cannot see; name them under env", where)
	}
	defined := map[string]bool{}
	for _, e := range ct.Env {
		defined[e.Name] = true
		if e.ValueFrom == nil {
			continue
		}
		for _, ref := range []struct {
			kind string
			r    *k8sKeyRef
		}{{"ConfigMap", e.ValueFrom.ConfigMapKeyRef}, {"Secret", e.ValueFrom.SecretKeyRef}} {
			if ref.r != nil && !keys[ref.kind+"/"+ref.r.Name][ref.r.Key] {
				c.problemf("%s: env %s comes from %s %s key %s, which the manifests do not define", where, e.Name, ref.kind, ref.r.Name, ref.r.Key)
			}
		}
	}
	if df == nil || repository(ct.Image) != "mcptrail/mcptrail" {
		return servedPod{}, false
	}
	entrypoint := ct.Command
	if entrypoint == nil {
		entrypoint = df.entrypoint[df.stages[len(df.stages)-1]]
	}
	bin, ok := c.binaryOf(where, entrypoint)
	if !ok {
		return servedPod{}, false
	}
	referenced := map[string]bool{}
	args := make([]string, 0, len(entrypoint)-1+len(ct.Args))
	args = append(args, entrypoint[1:]...)
	for _, a := range ct.Args {
		args = append(args, k8sVar.ReplaceAllStringFunc(a, func(m string) string {
			name := k8sVar.FindStringSubmatch(m)[1]
			referenced[name] = true
			if !defined[name] {
				c.problemf("%s: args use $(%s), which the container's env does not define", where, name)
			}
			return "placeholder"
		}))
	}
	inv, err := parseInvocation(bin, args)
	if err != nil {
		c.problemf("%s: %v", where, err)
		return servedPod{}, false
	}
	read := inv.envRead()
	for name := range defined {
		if !read[name] && !referenced[name] {
			c.problemf("%s: sets %s, which neither %s reads nor its args use", where, name, inv.cmd.CommandPath())
		}
	}
	port, serves, err := inv.metricsPort()
	if err != nil {
		c.problemf("%s: %v", where, err)
		return servedPod{}, false
	}
	if !serves {
		return servedPod{}, false
	}
	sp := servedPod{where: where, port: port, ports: map[string]int{}}
	for _, p := range ct.Ports {
		if p.Name != "" {
			sp.ports[p.Name] = p.ContainerPort
		}
	}
	if !slices.ContainsFunc(ct.Ports, func(p k8sPort) bool { return p.ContainerPort == port }) {
		c.problemf("%s: no containerPort %d (the --metrics-listen port)", where, port)
	}
	if kind == "Deployment" {
		for _, pr := range []struct {
			what, path string
			p          *k8sProbe
		}{{"livenessProbe", "/healthz", ct.LivenessProbe}, {"readinessProbe", "/readyz", ct.ReadinessProbe}} {
			switch {
			case pr.p == nil || pr.p.HTTPGet == nil:
				c.problemf("%s: no %s (httpGet %s)", where, pr.what, pr.path)
			case pr.p.HTTPGet.Path != pr.path:
				c.problemf("%s: %s gets %s, want %s", where, pr.what, pr.p.HTTPGet.Path, pr.path)
			default:
				if got, err := sp.resolve(pr.p.HTTPGet.Port); err != nil || got != port {
					c.problemf("%s: %s port %v is not the --metrics-listen port %d (%v)", where, pr.what, pr.p.HTTPGet.Port, port, err)
				}
			}
		}
	}
	return sp, true
}

// checkService checks that a Service selecting a pod that serves metrics
// points at the metrics port.
func (c *checker) checkService(o *k8sObject, sp servedPod) {
	where := o.file + ": Service " + o.Metadata.Name
	for _, p := range o.Spec.Ports {
		target := p.TargetPort
		if target == nil {
			target = p.Port
		}
		if got, err := sp.resolve(target); err != nil || got != sp.port {
			c.problemf("%s: port %s targets %v, not the --metrics-listen port %d of %s (%v)", where, p.Name, target, sp.port, sp.where, err)
		}
	}
	if a, ok := o.Metadata.Annotations["prometheus.io/port"]; ok && a != strconv.Itoa(sp.port) {
		c.problemf("%s: annotation prometheus.io/port %s, but the metrics port is %d", where, a, sp.port)
	}
}

// resolve turns a probe's or Service's port (a number or a container port
// name) into a number.
func (sp servedPod) resolve(port any) (int, error) {
	switch p := port.(type) {
	case string:
		if n, ok := sp.ports[p]; ok {
			return n, nil
		}
		return 0, fmt.Errorf("no container port named %q", p)
	case uint64:
		return int(p), nil
	case int64:
		return int(p), nil
	case int:
		return p, nil
	}
	return 0, fmt.Errorf("port %v (%T)", port, port)
}

// selects reports whether every label of selector is in labels.
func selects(selector map[string]any, labels map[string]string) bool {
	for k, v := range selector {
		if s, ok := v.(string); !ok || labels[k] != s {
			return false
		}
	}
	return len(selector) > 0
}
