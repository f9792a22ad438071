package vmset_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mcptrail/mcptrail/internal/telemetry/vmset"
)

// TestExposition: what Handler serves parses with Prometheus's own text
// parser, with the values the writers read at scrape time and, when the
// program exposes metadata (as mcptrail-collector's main does), the types.
func TestExposition(t *testing.T) {
	defer metrics.ExposeMetadata(false)
	var records atomic.Uint64
	set := vmset.NewSet()
	set.RegisterMetricsWriter(func(w io.Writer) {
		metrics.WriteCounterUint64(w, "mcptrail_test_records_total", records.Load())
		metrics.WriteGaugeFloat64(w, "mcptrail_test_age_seconds", 1.5)
	})
	srv := httptest.NewServer(vmset.Handler(set))
	defer srv.Close()

	scrape := func(t *testing.T) map[string]*dto.MetricFamily {
		t.Helper()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != vmset.ContentType {
			t.Errorf("Content-Type %q, want %q", ct, vmset.ContentType)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("parse: %v\n%s", err, body)
		}
		return fams
	}
	tests := []struct {
		name     string
		metadata bool
		counter  dto.MetricType // the type the families parse as
		gauge    dto.MetricType
	}{
		{"without metadata", false, dto.MetricType_UNTYPED, dto.MetricType_UNTYPED},
		{"with metadata", true, dto.MetricType_COUNTER, dto.MetricType_GAUGE},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			metrics.ExposeMetadata(tt.metadata)
			records.Store(uint64(7 + i))
			fams := scrape(t)
			check := func(name string, typ dto.MetricType, want float64) {
				t.Helper()
				f := fams[name]
				if f == nil {
					t.Errorf("%s missing", name)
					return
				}
				m := f.GetMetric()[0]
				got := m.GetUntyped().GetValue() + m.GetCounter().GetValue() + m.GetGauge().GetValue()
				if f.GetType() != typ || got != want {
					t.Errorf("%s: %s %v, want %s %v", name, f.GetType(), got, typ, want)
				}
			}
			check("mcptrail_test_records_total", tt.counter, float64(7+i))
			check("mcptrail_test_age_seconds", tt.gauge, 1.5)
			check("go_info", tt.gauge, 1)
			for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "go_memstats_sys_bytes",
				"process_start_time_seconds", "process_resident_memory_bytes", "process_cpu_seconds_total"} {
				f := fams[name]
				if f == nil {
					t.Errorf("%s missing", name)
					continue
				}
				m := f.GetMetric()[0]
				if v := m.GetUntyped().GetValue() + m.GetCounter().GetValue() + m.GetGauge().GetValue(); v < 0 || name != "process_cpu_seconds_total" && v == 0 {
					t.Errorf("%s = %v", name, v)
				}
			}
		})
	}
}

// TestSetsAreSeparate: a Set's metrics show in no other Set and not in
// the library's default set.
func TestSetsAreSeparate(t *testing.T) {
	a, b := vmset.NewSet(), vmset.NewSet()
	a.RegisterMetricsWriter(func(w io.Writer) { metrics.WriteCounterUint64(w, "mcptrail_test_only_in_a_total", 1) })
	var inB, inDefault strings.Builder
	b.WritePrometheus(&inB)
	metrics.WritePrometheus(&inDefault, false)
	for name, out := range map[string]string{"another set": inB.String(), "the default set": inDefault.String()} {
		if strings.Contains(out, "mcptrail_test_only_in_a_total") {
			t.Errorf("a metric written by one set shows in %s", name)
		}
	}
}
