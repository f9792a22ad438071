package alert

import (
	"cmp"
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mcptrail/mcptrail/detector"
)

// Stats counts what a Notifier has done since it was made.
type Stats struct {
	Findings   int // findings received
	BelowMin   int // dropped for a severity below the minimum
	Duplicates int // dropped as already seen (same id, no higher severity)
	Open       int // incidents open now
	Opened     int // incidents opened
	Escalated  int // severity raises of open incidents
	Expired    int // incidents closed by the TTL
	Evicted    int // incidents forgotten to stay under MaxIncidents
	Sent       int // alerts delivered, summed over outputs
	SendErrors int // failed Send calls
}

// Notifier turns a stream of findings into incidents and sends each
// incident to every output once, again when its severity rises, and, to
// outputs that are Refreshers, periodically while it is open.
//
// Grouping: the group key is the session. All findings of one session (of
// any rule) at or above the minimum severity form one incident, open until
// no finding has arrived for the TTL. A session is one agent run, and its
// findings are usually one story (an injection followed by exfiltration),
// so one alert names every rule involved instead of one alert per rule.
//
// Deduplication: a finding whose ID the incident has seen is dropped, unless
// it comes with a higher severity (a re-run with a raised severity), which
// escalates without counting it twice.
//
// Delivery: Add sends the incidents it opened or escalated. An output that
// fails is behind: Refresh (and Run, every RetryInterval) sends it again
// what it missed. Calls are serialized; Add blocks while outputs deliver
// (they retry with backoff), so a detector that must not wait feeds Run
// through a channel instead.
type Notifier struct {
	mu        sync.Mutex
	cfg       Config
	incidents map[string]*incident
	lru       *list.List // of *incident, most recently updated first
	stats     Stats
}

// NewNotifier returns a Notifier with cfg (see Config and DefaultConfig).
func NewNotifier(cfg Config) (*Notifier, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Notifier{
		cfg:       c,
		incidents: make(map[string]*incident),
		lru:       list.New(),
	}, nil
}

// Stats returns the counters.
func (n *Notifier) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.stats
	s.Open = len(n.incidents)
	return s
}

// Add groups findings into incidents and sends the incidents they opened or
// escalated. The error joins the outputs' errors; the failed deliveries are
// retried by Refresh.
func (n *Notifier) Add(ctx context.Context, findings ...detector.Finding) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.cfg.Now()
	n.expire(now)
	var touched []*incident
	inTouched := make(map[*incident]bool)
	for i := range findings {
		f := &findings[i]
		n.stats.Findings++
		if f.Severity < n.cfg.MinSeverity {
			n.stats.BelowMin++
			continue
		}
		inc := n.incidents[f.Session]
		isNew := inc == nil
		if isNew {
			if len(n.incidents) >= n.cfg.MaxIncidents {
				n.evictOldest()
			}
			inc = newIncident(f.Session, len(n.cfg.Outputs))
			inc.elem = n.lru.PushFront(inc)
			n.incidents[f.Session] = inc
			n.stats.Opened++
		}
		before := inc.alert.Severity
		if !inc.merge(f, &n.cfg) {
			n.stats.Duplicates++
			continue
		}
		if !isNew && inc.alert.Severity > before {
			n.stats.Escalated++
		}
		inc.updated = now
		inc.alert.EndsAt = now.Add(n.cfg.TTL)
		inc.alert.URL = n.cfg.Link.URL(&inc.alert)
		n.lru.MoveToFront(inc.elem)
		if !inc.caughtUp() && !inTouched[inc] {
			inTouched[inc] = true
			touched = append(touched, inc)
		}
	}
	return n.deliver(ctx, now, touched, false)
}

// Refresh closes expired incidents, sends the outputs what they missed
// after a failure, and re-sends open incidents to each Refresher whose
// interval has passed since it last got them.
func (n *Notifier) Refresh(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.cfg.Now()
	n.expire(now)
	all := make([]*incident, 0, len(n.incidents))
	for _, inc := range n.incidents {
		all = append(all, inc)
	}
	return n.deliver(ctx, now, all, true)
}

// Run adds the findings it receives until the channel is closed or ctx is
// done, and calls Refresh every RetryInterval (or sooner, when a Refresher
// asks for a shorter interval). Delivery errors go to Config.OnError. It
// returns nil when findings is closed, else ctx's error.
func (n *Notifier) Run(ctx context.Context, findings <-chan detector.Finding) error {
	every := n.cfg.RetryInterval
	for _, o := range n.cfg.Outputs {
		if r, ok := o.(Refresher); ok {
			every = min(every, r.RefreshInterval())
		}
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	report := func(err error) {
		if err != nil && n.cfg.OnError != nil {
			n.cfg.OnError(err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f, ok := <-findings:
			if !ok {
				return nil
			}
			report(n.Add(ctx, f))
		case <-tick.C:
			report(n.Refresh(ctx))
		}
	}
}

// deliver sends, per output, the incidents among candidates that the output
// is behind on, and with refresh also those a Refresher is due to get again.
// It runs with n.mu held.
func (n *Notifier) deliver(ctx context.Context, now time.Time, candidates []*incident, refresh bool) error {
	if len(candidates) == 0 {
		return nil
	}
	// Most severe first, then oldest first: the order outputs see.
	slices.SortFunc(candidates, func(a, b *incident) int {
		if c := cmp.Compare(b.alert.Severity, a.alert.Severity); c != 0 {
			return c
		}
		if c := a.alert.FirstTS.Compare(b.alert.FirstTS); c != 0 {
			return c
		}
		return strings.Compare(a.alert.Key, b.alert.Key)
	})
	var errs []error
	for i, out := range n.cfg.Outputs {
		var every time.Duration
		if r, ok := out.(Refresher); ok && refresh {
			every = r.RefreshInterval()
		}
		var (
			alerts []Alert
			incs   []*incident
		)
		for _, inc := range candidates {
			var change Change
			switch {
			case inc.sent[i] == notSent:
				change = Opened
			case inc.sent[i] < inc.alert.Severity:
				change = Escalated
			case every > 0 && now.Sub(inc.lastSent[i]) >= every:
				change = Refreshed
			default:
				continue
			}
			alerts = append(alerts, inc.snapshot(change))
			incs = append(incs, inc)
		}
		if len(alerts) == 0 {
			continue
		}
		if err := out.Send(ctx, alerts); err != nil {
			n.stats.SendErrors++
			errs = append(errs, fmt.Errorf("alert: output %s: send %d alerts: %w", out.Name(), len(alerts), err))
			continue
		}
		n.stats.Sent += len(alerts)
		for j, inc := range incs {
			inc.sent[i] = max(inc.sent[i], alerts[j].Severity)
			inc.lastSent[i] = now
		}
	}
	return errors.Join(errs...)
}

// expire closes the incidents whose TTL has passed.
func (n *Notifier) expire(now time.Time) {
	for e := n.lru.Back(); e != nil; e = n.lru.Back() {
		inc := e.Value.(*incident)
		if now.Sub(inc.updated) < n.cfg.TTL {
			return
		}
		n.remove(inc)
		n.stats.Expired++
	}
}

// evictOldest forgets the least recently updated incident.
func (n *Notifier) evictOldest() {
	if e := n.lru.Back(); e != nil {
		n.remove(e.Value.(*incident))
		n.stats.Evicted++
	}
}

func (n *Notifier) remove(inc *incident) {
	n.lru.Remove(inc.elem)
	delete(n.incidents, inc.alert.Key)
}
