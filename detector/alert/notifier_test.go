package alert

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/detector"
)

// sent is what a test expects an output to have received, in order.
type sent struct {
	key      string
	change   Change
	severity detector.Severity
	count    int
}

func TestNotifierGrouping(t *testing.T) {
	ctx := context.Background()
	exfil := finding("s1", "exfil.url-args", detector.High, 0, "7", "8")
	tests := []struct {
		name    string
		batches [][]detector.Finding
		want    []sent
		stats   Stats
	}{
		{
			name:    "one finding opens one incident",
			batches: [][]detector.Finding{{exfil}},
			want:    []sent{{"s1", Opened, detector.High, 1}},
			stats:   Stats{Findings: 1, Open: 1, Opened: 1, Sent: 1},
		},
		{
			name:    "the same finding again is dropped",
			batches: [][]detector.Finding{{exfil}, {exfil}, {exfil}},
			want:    []sent{{"s1", Opened, detector.High, 1}},
			stats:   Stats{Findings: 3, Duplicates: 2, Open: 1, Opened: 1, Sent: 1},
		},
		{
			name: "another rule of the same session joins the incident quietly",
			batches: [][]detector.Finding{
				{exfil},
				{finding("s1", "injection.follow", detector.High, time.Second, "9")},
			},
			want:  []sent{{"s1", Opened, detector.High, 1}},
			stats: Stats{Findings: 2, Open: 1, Opened: 1, Sent: 1},
		},
		{
			name: "a higher severity escalates",
			batches: [][]detector.Finding{
				{exfil},
				{finding("s1", "token.replay", detector.Critical, time.Second)},
			},
			want:  []sent{{"s1", Opened, detector.High, 1}, {"s1", Escalated, detector.Critical, 2}},
			stats: Stats{Findings: 2, Open: 1, Opened: 1, Escalated: 1, Sent: 2},
		},
		{
			name: "the same finding with a raised severity escalates without counting twice",
			batches: [][]detector.Finding{
				{exfil},
				{func() detector.Finding { f := exfil; f.Severity = detector.Critical; return f }()},
			},
			want:  []sent{{"s1", Opened, detector.High, 1}, {"s1", Escalated, detector.Critical, 1}},
			stats: Stats{Findings: 2, Open: 1, Opened: 1, Escalated: 1, Sent: 2},
		},
		{
			name: "below the minimum severity is dropped, and does not open an incident",
			batches: [][]detector.Finding{
				{finding("s2", "chain.unusual", detector.Medium, 0)},
				{finding("s2", "chain.unusual", detector.Low, 0, "1")},
			},
			stats: Stats{Findings: 2, BelowMin: 2},
		},
		{
			name: "sessions are separate incidents, most severe first in one batch",
			batches: [][]detector.Finding{{
				finding("a", "exfil.url-args", detector.High, 0),
				finding("b", "tool.rug-pull", detector.Critical, time.Second),
			}},
			want:  []sent{{"b", Opened, detector.Critical, 1}, {"a", Opened, detector.High, 1}},
			stats: Stats{Findings: 2, Open: 2, Opened: 2, Sent: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &recorder{name: "rec"}
			n, _ := newTestNotifier(t, nil, out)
			for _, b := range tt.batches {
				if err := n.Add(ctx, b...); err != nil {
					t.Fatal(err)
				}
			}
			checkSent(t, out.all(), tt.want)
			if got := n.Stats(); got != tt.stats {
				t.Errorf("stats\n got %+v\nwant %+v", got, tt.stats)
			}
		})
	}
}

func checkSent(t *testing.T, got []Alert, want []sent) {
	t.Helper()
	var g []sent
	for _, a := range got {
		g = append(g, sent{a.Key, a.Change, a.Severity, a.Count})
	}
	if !slices.Equal(g, want) {
		t.Errorf("sent\n got %v\nwant %v", g, want)
	}
}

func TestNotifierAlertContent(t *testing.T) {
	link, err := NewLinker("https://grafana.example/d/session?var-session={{.Session | urlquery}}&from={{.FromMS}}&to={{.ToMS}}")
	if err != nil {
		t.Fatal(err)
	}
	out := &recorder{name: "rec"}
	n, clk := newTestNotifier(t, func(c *Config) { c.Link = link; c.MaxCallIDs = 3 }, out)
	ctx := context.Background()
	err = n.Add(ctx,
		finding("sess 1/x", "exfil.url-args", detector.High, 2*time.Second, "7", "8"),
		finding("sess 1/x", "injection.follow", detector.High, 0, "8", "9", "10"),
	)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if err := n.Add(ctx, finding("sess 1/x", "token.replay", detector.Critical, time.Second, "11")); err != nil {
		t.Fatal(err)
	}
	got := out.all()
	if len(got) != 2 {
		t.Fatalf("%d alerts sent, want 2", len(got))
	}
	a := got[1]
	want := Alert{
		Key:      "sess 1/x",
		Change:   Escalated,
		Session:  "sess 1/x",
		Severity: detector.Critical,
		Title:    "token.replay in sess 1/x",
		Rule:     "token.replay",
		Rules:    []string{"exfil.url-args", "injection.follow", "token.replay"},
		CallIDs:  []string{"7", "8", "9"},
		Count:    3,
		FirstTS:  t0,
		LastTS:   t0.Add(2 * time.Second),
		Host:     "laptop-7",
		Server:   "filesystem",
		Client:   "claude-code",
		URL: "https://grafana.example/d/session?var-session=sess+1%2Fx&from=" +
			itoa(t0.Add(-5*time.Minute).UnixMilli()) + "&to=" + itoa(t0.Add(2*time.Second+5*time.Minute).UnixMilli()),
		EndsAt: t0.Add(time.Minute + DefaultTTL),
	}
	if !alertsEqual(a, want) {
		t.Errorf("alert\n got %+v\nwant %+v", a, want)
	}
	// The first snapshot was not changed by the later finding.
	if got[0].Count != 2 || len(got[0].Rules) != 2 || got[0].Change != Opened {
		t.Errorf("first alert changed after it was sent: %+v", got[0])
	}
}

func alertsEqual(a, b Alert) bool {
	return a.Key == b.Key && a.Change == b.Change && a.Session == b.Session && a.Severity == b.Severity &&
		a.Title == b.Title && a.Rule == b.Rule && slices.Equal(a.Rules, b.Rules) && slices.Equal(a.CallIDs, b.CallIDs) &&
		a.Count == b.Count && a.FirstTS.Equal(b.FirstTS) && a.LastTS.Equal(b.LastTS) && a.Host == b.Host &&
		a.Server == b.Server && a.Client == b.Client && a.URL == b.URL && a.EndsAt.Equal(b.EndsAt)
}

func TestNotifierTTLAndCap(t *testing.T) {
	ctx := context.Background()
	out := &recorder{name: "rec"}
	n, clk := newTestNotifier(t, func(c *Config) { c.TTL = 10 * time.Minute; c.MaxIncidents = 2 }, out)
	f := finding("s1", "exfil.url-args", detector.High, 0)
	must(t, n.Add(ctx, f))
	clk.Advance(9 * time.Minute)
	must(t, n.Add(ctx, finding("s1", "injection.follow", detector.High, 0))) // keeps s1 open
	clk.Advance(9 * time.Minute)
	must(t, n.Add(ctx, f)) // still open: a duplicate
	if s := n.Stats(); s.Opened != 1 || s.Duplicates != 1 {
		t.Fatalf("incident closed before its TTL: %+v", s)
	}
	clk.Advance(10 * time.Minute)
	must(t, n.Add(ctx, f)) // closed by the TTL: the same finding opens a new incident
	if s := n.Stats(); s.Opened != 2 || s.Expired != 1 || s.Open != 1 {
		t.Fatalf("after the TTL: %+v", s)
	}
	must(t, n.Add(ctx, finding("s2", "r", detector.High, 0)))
	clk.Advance(time.Second)
	must(t, n.Add(ctx, finding("s3", "r", detector.High, 0)))
	if s := n.Stats(); s.Open != 2 || s.Evicted != 1 {
		t.Fatalf("above MaxIncidents: %+v", s)
	}
	if got := len(out.all()); got != 4 {
		t.Errorf("%d alerts sent, want 4 (s1 twice, s2, s3)", got)
	}
}

func TestNotifierRetryAndRefresh(t *testing.T) {
	ctx := context.Background()
	hook := &recorder{name: "hook"}
	am := refresher{&recorder{name: "am", refresh: time.Minute}}
	n, clk := newTestNotifier(t, nil, hook, am)

	hook.fail = true
	err := n.Add(ctx, finding("s1", "exfil.url-args", detector.High, 0))
	if err == nil || !contains(err.Error(), "output hook") {
		t.Fatalf("Add with a failing output: err %v, want the output's error", err)
	}
	checkSent(t, am.all(), []sent{{"s1", Opened, detector.High, 1}})

	// Another finding of the incident tries the hook again (and only the
	// hook: am is up to date).
	if err := n.Add(ctx, finding("s1", "injection.follow", detector.High, 0)); err == nil {
		t.Fatal("second Add: no error from the failing hook")
	}
	if len(hook.sends) != 0 || len(am.sends) != 1 {
		t.Fatalf("sends: hook %d, am %d; want 0 and 1", len(hook.sends), len(am.sends))
	}

	hook.fail = false
	must(t, n.Refresh(ctx)) // the hook catches up; the interval has not passed for am
	checkSent(t, hook.all(), []sent{{"s1", Opened, detector.High, 2}})
	checkSent(t, am.all(), []sent{{"s1", Opened, detector.High, 1}})

	clk.Advance(time.Minute)
	must(t, n.Refresh(ctx)) // am is due; the hook is not a Refresher
	checkSent(t, am.all(), []sent{{"s1", Opened, detector.High, 1}, {"s1", Refreshed, detector.High, 2}})
	if got := len(hook.all()); got != 1 {
		t.Errorf("hook got %d alerts, want 1", got)
	}
	if s := n.Stats(); s.SendErrors != 2 || s.Sent != 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestNotifierRun(t *testing.T) {
	out := &recorder{name: "rec"}
	n, _ := newTestNotifier(t, nil, out)
	ch := make(chan detector.Finding, 3)
	ch <- finding("s1", "a", detector.High, 0)
	ch <- finding("s1", "b", detector.Critical, 0)
	ch <- finding("s2", "a", detector.Info, 0)
	close(ch)
	if err := n.Run(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	checkSent(t, out.all(), []sent{{"s1", Opened, detector.High, 1}, {"s1", Escalated, detector.Critical, 2}})
}

func TestNewNotifierErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"severity out of range", Config{MinSeverity: 9}},
		{"nil output", Config{Outputs: []Output{nil}}},
		{"refresher without interval", Config{Outputs: []Output{refresher{&recorder{name: "x"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewNotifier(tt.cfg); err == nil {
				t.Error("no error")
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
