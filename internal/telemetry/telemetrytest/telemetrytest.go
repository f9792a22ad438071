// Package telemetrytest scrapes a telemetry server the way Prometheus and
// Kubernetes do, for the tests of the commands that serve one.
package telemetrytest

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// addrLine matches the line a telemetry server logs when it listens.
var addrLine = regexp.MustCompile(`telemetry: serving /metrics.* addr=(\S+)`)

// Addr waits until logs (a command's stderr) names the address its
// telemetry server listens on, and returns it.
func Addr(t testing.TB, logs fmt.Stringer, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := addrLine.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no telemetry address logged within %v:\n%s", timeout, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Get fetches path from the server at addr and returns the status code
// and body.
func Get(t testing.TB, addr, path string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// Families is a scrape: the metric families by name.
type Families map[string]*dto.MetricFamily

// Scrape fetches /metrics from addr and parses it with Prometheus's text
// parser.
func Scrape(t testing.TB, addr string) Families {
	t.Helper()
	code, body := Get(t, addr, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// Value returns the sum over the samples of family name whose labels
// include labels (name, value pairs) of their values: a counter's or
// gauge's value, a histogram's sample count. ok is false when no sample
// matches.
func (f Families) Value(name string, labels ...string) (v float64, ok bool) {
	fam := f[name]
	if fam == nil {
		return 0, false
	}
	total, found := 0.0, false
	for _, m := range fam.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			total += m.Untyped.GetValue()
		}
	}
	return total, found
}

// Missing returns the names that are not in f, sorted.
func (f Families) Missing(names ...string) []string {
	var out []string
	for _, n := range names {
		if f[n] == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// WaitValue scrapes addr until family name (with labels) has a value for
// which ok returns true, and returns that value; it fails the test after
// timeout, showing the last value.
func WaitValue(t testing.TB, addr string, timeout time.Duration, ok func(float64) bool, name string, labels ...string) float64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, found := Scrape(t, addr).Value(name, labels...)
		if found && ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v: %v (present: %v) after %v", name, labels, v, found, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Equals is a WaitValue condition: the value is want.
func Equals(want float64) func(float64) bool { return func(v float64) bool { return v == want } }

// Above is a WaitValue condition: the value is more than min.
func Above(min float64) func(float64) bool { return func(v float64) bool { return v > min } }

// WaitStatus polls path on addr until it answers code, and returns the
// body; it fails the test after timeout, showing the last answer.
func WaitStatus(t testing.TB, addr, path string, code int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, body := Get(t, addr, path)
		if got == code {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %q after %v, want %d", path, got, body, timeout, code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
