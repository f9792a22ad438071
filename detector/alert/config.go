package alert

import (
	"fmt"
	"time"

	"github.com/mcptrail/mcptrail/detector"
)

// The defaults of Config (see DefaultConfig).
const (
	DefaultMinSeverity   = detector.High
	DefaultTTL           = time.Hour
	DefaultMaxIncidents  = 10_000
	DefaultMaxCallIDs    = 50
	DefaultMaxRules      = 50
	DefaultMaxFindingIDs = 1_000
	DefaultRetryInterval = time.Minute
)

// Config sets up a Notifier. Start from DefaultConfig: a zero number or
// duration takes its default, but MinSeverity is taken as given (its zero
// value, Info, alerts on everything).
type Config struct {
	// Outputs receive the alerts, in order.
	Outputs []Output
	// MinSeverity drops findings below it before grouping.
	MinSeverity detector.Severity
	// Link builds each incident's URL; nil makes none.
	Link *Linker
	// TTL closes an incident that has had no new finding for this long: it
	// is forgotten, and a later finding of its session opens a new one.
	TTL time.Duration
	// MaxIncidents bounds the open incidents; above it, the least recently
	// updated one is forgotten (counted in Stats.Evicted).
	MaxIncidents int
	// MaxCallIDs and MaxRules bound the call and rule ids an alert lists.
	MaxCallIDs int
	MaxRules   int
	// MaxFindingIDs bounds the finding ids an incident remembers for
	// deduplication; findings beyond it are counted without deduplication.
	MaxFindingIDs int
	// RetryInterval is how often Run retries failed deliveries (and
	// refreshes when no output asks for a shorter interval).
	RetryInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnError, if set, hears the delivery errors of Run (Add and Refresh
	// return theirs).
	OnError func(error)
}

// DefaultConfig returns the defaults: minimum severity high, a one-hour TTL,
// at most 10,000 open incidents, no outputs and no link.
func DefaultConfig() Config {
	return Config{
		MinSeverity:   DefaultMinSeverity,
		TTL:           DefaultTTL,
		MaxIncidents:  DefaultMaxIncidents,
		MaxCallIDs:    DefaultMaxCallIDs,
		MaxRules:      DefaultMaxRules,
		MaxFindingIDs: DefaultMaxFindingIDs,
		RetryInterval: DefaultRetryInterval,
	}
}

// withDefaults fills the zero fields and checks the others.
func (c Config) withDefaults() (Config, error) {
	if c.MinSeverity < detector.Info || c.MinSeverity > detector.Critical {
		return c, fmt.Errorf("alert: minimum severity %d out of range", int(c.MinSeverity))
	}
	for i, o := range c.Outputs {
		if o == nil {
			return c, fmt.Errorf("alert: output %d is nil", i)
		}
		if r, ok := o.(Refresher); ok && r.RefreshInterval() <= 0 {
			return c, fmt.Errorf("alert: output %s: refresh interval %v, want > 0", o.Name(), r.RefreshInterval())
		}
	}
	def := DefaultConfig()
	setDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	setInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setDur(&c.TTL, def.TTL)
	setDur(&c.RetryInterval, def.RetryInterval)
	setInt(&c.MaxIncidents, def.MaxIncidents)
	setInt(&c.MaxCallIDs, def.MaxCallIDs)
	setInt(&c.MaxRules, def.MaxRules)
	setInt(&c.MaxFindingIDs, def.MaxFindingIDs)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}
