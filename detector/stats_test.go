package detector_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/detector"
	"github.com/mcptrail/mcptrail/schemas"
)

func TestEngineEvicted(t *testing.T) {
	cases := []struct {
		name        string
		maxSessions int
		idleAfter   time.Duration
		sessions    int
		gap         time.Duration // between sessions
		want        int64
	}{
		{"under the bound", 4, time.Hour, 4, time.Second, 0},
		{"past the bound", 2, time.Hour, 5, time.Second, 3},
		{"idle sessions end without eviction", 2, time.Minute, 2, time.Hour, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eng, err := detector.New(detector.Options{MaxSessions: tc.maxSessions, IdleAfter: tc.idleAfter})
			if err != nil {
				t.Fatal(err)
			}
			check := func(when string, want int64) {
				t.Helper()
				if got := eng.Evicted(); got != want {
					t.Errorf("%s: Evicted() = %d, want %d", when, got, want)
				}
			}
			check("new engine", 0)
			for i := range tc.sessions {
				c := tdNew(t, fmt.Sprintf("s%d", i))
				c.ts = c.ts.Add(time.Duration(i) * tc.gap)
				c.call("read_file", `{"path":"/tmp/a.txt"}`)
				tdObserve(eng, c.recs...)
			}
			check("after the sessions", tc.want)
			eng.Close(func(detector.Finding) {})
			check("after Close", tc.want)
		})
	}
}

// TestEngineEvictedConcurrentRead reads the counter while Observe runs
// (as the metrics endpoint does); run with -race.
func TestEngineEvictedConcurrentRead(t *testing.T) {
	eng, err := detector.New(detector.Options{MaxSessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	var recs []*schemas.Record
	for i := range 50 {
		c := tdNew(t, fmt.Sprintf("s%d", i))
		c.ts = c.ts.Add(time.Duration(i) * time.Second)
		c.call("read_file", `{"path":"/tmp/a.txt"}`)
		recs = append(recs, c.recs...)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = eng.Evicted()
			}
		}
	})
	tdObserve(eng, recs...)
	close(stop)
	wg.Wait()
	if got := eng.Evicted(); got != 49 {
		t.Errorf("Evicted() = %d, want 49", got)
	}
}

// tdObserve feeds records to eng, dropping the findings.
func tdObserve(eng *detector.Engine, recs ...*schemas.Record) {
	for _, r := range recs {
		eng.Observe(r, func(detector.Finding) {})
	}
}
