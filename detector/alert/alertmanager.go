package alert

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/prometheus/common/model"
)

// The defaults of AlertmanagerConfig.
const (
	DefaultAlertName       = "MCPTrailIncident"
	DefaultAMRefresh       = time.Minute
	DefaultAMMaxRemembered = 10_000
)

// AlertmanagerConfig sets up an Alertmanager output.
type AlertmanagerConfig struct {
	// URL is Alertmanager's base URL, such as http://127.0.0.1:9093 (with
	// the route prefix, if it has one); alerts go to URL/api/v2/alerts.
	URL string
	// Client sends the requests; nil means a client with DefaultTimeout.
	Client *http.Client
	// Header is added to every request (for example Authorization).
	Header http.Header
	// Retry is the retry policy (zero: the defaults).
	Retry Retry
	// AlertName is the alertname label; default DefaultAlertName.
	AlertName string
	// Labels are added to every alert (for example env or team). They may
	// not override the labels the output sets.
	Labels map[string]string
	// GeneratorURL is every alert's generatorURL; empty means the alert's
	// own link (Alert.URL).
	GeneratorURL string
	// Refresh is how often open incidents are re-posted (default one
	// minute). Each post sets endsAt to four intervals ahead (never past
	// the incident's own end), so an alert resolves by itself when
	// mcptrail stops re-posting it.
	Refresh time.Duration
	// MaxRemembered bounds the label sets remembered to resolve an
	// incident's previous alert when its severity rises.
	MaxRemembered int
}

// Alertmanager is an Output to Alertmanager's API v2 (POST /api/v2/alerts).
//
// Each incident is one Alertmanager alert with the labels alertname,
// severity, session and rule (the incident's leading rule) plus
// AlertmanagerConfig.Labels, and the annotations summary, description,
// session_url, rules, call_ids, findings, first_seen, last_seen, and host,
// server and client when known. Alertmanager identifies alerts by their
// labels, so posting an incident again updates the same alert. When the
// severity rises the labels change: the output then posts the previous
// label set resolved (endsAt now) beside the new one, so that one incident
// stays one firing alert.
type Alertmanager struct {
	p       *poster
	cfg     AlertmanagerConfig
	now     func() time.Time
	mu      sync.Mutex
	current map[string]remembered // incident key -> last label set posted
}

type remembered struct {
	labels   map[string]string
	startsAt time.Time
	endsAt   time.Time
}

// Labels the output sets itself.
var amOwnLabels = []string{"alertname", "severity", "session", "rule"}

// NewAlertmanager returns an Alertmanager output.
func NewAlertmanager(cfg AlertmanagerConfig) (*Alertmanager, error) {
	base := strings.TrimRight(cfg.URL, "/")
	p, err := newPoster("alertmanager", base+"/api/v2/alerts", cfg.Client, cfg.Header, cfg.Retry)
	if err != nil {
		return nil, err
	}
	if cfg.AlertName == "" {
		cfg.AlertName = DefaultAlertName
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultAMRefresh
	}
	if cfg.MaxRemembered <= 0 {
		cfg.MaxRemembered = DefaultAMMaxRemembered
	}
	for k := range cfg.Labels {
		for _, own := range amOwnLabels {
			if k == own {
				return nil, fmt.Errorf("alert: alertmanager label %q is set by mcptrail and cannot be configured", k)
			}
		}
		if !model.LegacyValidation.IsValidLabelName(k) { // Alertmanager 0.25 validates legacy names
			return nil, fmt.Errorf("alert: alertmanager label name %q: want [a-zA-Z_][a-zA-Z0-9_]*", k)
		}
	}
	cfg.Labels = maps.Clone(cfg.Labels)
	return &Alertmanager{p: p, cfg: cfg, now: time.Now, current: make(map[string]remembered)}, nil
}

// Name returns "alertmanager".
func (am *Alertmanager) Name() string { return "alertmanager" }

// RefreshInterval returns AlertmanagerConfig.Refresh.
func (am *Alertmanager) RefreshInterval() time.Duration { return am.cfg.Refresh }

// PostableAlert is one alert in the body of POST /api/v2/alerts.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitzero"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitzero"`
}

// Send posts alerts (and the resolution of label sets they replace) in one
// request.
func (am *Alertmanager) Send(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	now := am.now().UTC()
	am.mu.Lock()
	for k, r := range am.current {
		if !r.endsAt.After(now) {
			delete(am.current, k)
		}
	}
	post := make([]PostableAlert, 0, len(alerts))
	next := make(map[string]remembered, len(alerts))
	for i := range alerts {
		pa := am.Postable(&alerts[i], now)
		if prev, ok := am.current[alerts[i].Key]; ok && !maps.Equal(prev.labels, pa.Labels) {
			post = append(post, PostableAlert{Labels: prev.labels, StartsAt: prev.startsAt, EndsAt: now})
		}
		post = append(post, pa)
		next[alerts[i].Key] = remembered{labels: pa.Labels, startsAt: pa.StartsAt, endsAt: pa.EndsAt}
	}
	am.mu.Unlock()

	body, err := json.Marshal(post)
	if err != nil {
		return fmt.Errorf("alertmanager: encode %d alerts: %w", len(post), err)
	}
	if err := am.p.post(ctx, body); err != nil {
		return fmt.Errorf("alertmanager: %w", err)
	}
	am.mu.Lock()
	defer am.mu.Unlock()
	for k, r := range next {
		if _, ok := am.current[k]; ok || len(am.current) < am.cfg.MaxRemembered {
			am.current[k] = r
		}
	}
	return nil
}

// Postable returns the Alertmanager alert for a at time now.
func (am *Alertmanager) Postable(a *Alert, now time.Time) PostableAlert {
	labels := make(map[string]string, len(am.cfg.Labels)+len(amOwnLabels))
	maps.Copy(labels, am.cfg.Labels)
	labels["alertname"] = am.cfg.AlertName
	labels["severity"] = a.Severity.String()
	labels["session"] = a.Session
	labels["rule"] = a.Rule

	ann := map[string]string{
		"summary":     fmt.Sprintf("[%s] %s", a.Severity, a.Title),
		"description": describe(a),
		"rules":       strings.Join(a.Rules, ", "),
		"findings":    strconv.Itoa(a.Count),
	}
	set := func(k, v string) {
		if v != "" {
			ann[k] = v
		}
	}
	set("session_url", a.URL)
	set("call_ids", strings.Join(a.CallIDs, ", "))
	set("host", a.Host)
	set("server", a.Server)
	set("client", a.Client)
	if !a.FirstTS.IsZero() {
		ann["first_seen"] = a.FirstTS.UTC().Format(time.RFC3339Nano)
	}
	if !a.LastTS.IsZero() {
		ann["last_seen"] = a.LastTS.UTC().Format(time.RFC3339Nano)
	}

	starts := a.FirstTS
	if starts.IsZero() || starts.After(now) {
		starts = now
	}
	ends := now.Add(4 * am.cfg.Refresh)
	if !a.EndsAt.IsZero() && a.EndsAt.Before(ends) {
		ends = a.EndsAt
	}
	if !ends.After(starts) {
		ends = starts.Add(time.Second)
	}
	gen := am.cfg.GeneratorURL
	if gen == "" {
		gen = a.URL
	}
	return PostableAlert{Labels: labels, Annotations: ann, StartsAt: starts.UTC(), EndsAt: ends.UTC(), GeneratorURL: gen}
}

// describe is the description annotation: one paragraph an on-call reader
// can act on.
func describe(a *Alert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s of %s in MCP session %s", plural(a.Count, "finding"), plural(len(a.Rules), "rule"), a.Session)
	if len(a.Rules) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(a.Rules, ", "))
	}
	if !a.FirstTS.IsZero() {
		fmt.Fprintf(&b, ", from %s to %s", a.FirstTS.UTC().Format(time.RFC3339), a.LastTS.UTC().Format(time.RFC3339))
	}
	var where []string
	for _, w := range [...]struct{ k, v string }{{"host", a.Host}, {"server", a.Server}, {"client", a.Client}} {
		if w.v != "" {
			where = append(where, w.k+" "+w.v)
		}
	}
	if len(where) > 0 {
		fmt.Fprintf(&b, "; %s", strings.Join(where, ", "))
	}
	b.WriteString(".")
	if a.URL != "" {
		fmt.Fprintf(&b, " Investigate: %s", a.URL)
	}
	return b.String()
}
