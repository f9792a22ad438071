package alert

import (
	"fmt"
	"net/url"
	"strings"
	"text/template"
	"time"
)

// linkMargin widens an incident's time range in links, so that a dashboard
// shows what led up to the first finding and what followed the last.
const linkMargin = 5 * time.Minute

// LinkData is what a link template sees.
type LinkData struct {
	// Session is the MCP session id, unescaped: write {{.Session | urlquery}}
	// in a query string and {{.Session | pathescape}} in a path.
	Session string
	// Rule is the incident's leading rule; Severity its severity name.
	Rule     string
	Severity string
	// FromMS and ToMS are the incident's first and last finding times in
	// Unix milliseconds, widened by five minutes on each side (Grafana's
	// from= and to=).
	FromMS int64
	ToMS   int64
}

// Linker builds an incident's link from a text/template, such as
//
//	https://grafana.example/d/mcptrail-session?var-session={{.Session | urlquery}}&from={{.FromMS}}&to={{.ToMS}}
//
// Besides text/template's built-ins (urlquery among them) the template may
// use pathescape (url.PathEscape). A zero or nil Linker makes empty links.
type Linker struct {
	tmpl *template.Template
}

// NewLinker parses a link template (see Linker and LinkData). An empty text
// gives a Linker that makes no links. The template is checked by rendering
// it once with sample data, and must yield an absolute http(s) URL.
func NewLinker(text string) (*Linker, error) {
	if strings.TrimSpace(text) == "" {
		return &Linker{}, nil
	}
	t, err := template.New("link").
		Funcs(template.FuncMap{"pathescape": url.PathEscape}).
		Option("missingkey=error").
		Parse(text)
	if err != nil {
		return nil, fmt.Errorf("alert: link template: %w", err)
	}
	l := &Linker{tmpl: t}
	sample, err := l.render(LinkData{Session: "sample session/1", Rule: "rule", Severity: "high", FromMS: 1, ToMS: 2})
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(sample)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("alert: link template %q: gives %q, want an absolute http(s) URL", text, sample)
	}
	return l, nil
}

// URL returns a's link, or "" without a template.
func (l *Linker) URL(a *Alert) string {
	if l == nil || l.tmpl == nil {
		return ""
	}
	d := LinkData{Session: a.Session, Rule: a.Rule, Severity: a.Severity.String()}
	if !a.FirstTS.IsZero() {
		d.FromMS = a.FirstTS.Add(-linkMargin).UnixMilli()
	}
	if !a.LastTS.IsZero() {
		d.ToMS = a.LastTS.Add(linkMargin).UnixMilli()
	}
	s, err := l.render(d)
	if err != nil { // the template rendered at NewLinker, so it cannot fail on LinkData
		return ""
	}
	return s
}

func (l *Linker) render(d LinkData) (string, error) {
	var b strings.Builder
	if err := l.tmpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("alert: link template: %w", err)
	}
	return strings.TrimSpace(b.String()), nil
}
