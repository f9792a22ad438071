package processor

import "github.com/mcptrail/mcptrail/schemas"

// Normalizer runs the core path for one consumer: normalize, pair, hash
// and append. It is not safe for concurrent use.
type Normalizer struct {
	pairer *Pairer
	events []schemas.Event // reused for every record
}

// NewNormalizer returns a Normalizer whose Pairer waits on at most
// maxPending requests.
func NewNormalizer(maxPending int) *Normalizer {
	return &Normalizer{pairer: NewPairer(maxPending)}
}

// Pairer returns the Normalizer's Pairer (for its counters).
func (n *Normalizer) Pairer() *Pairer { return n.pairer }

// Add normalizes rec into events, appends them to cols and returns how
// many it appended. The rows refer to rec's message: rec must not be
// changed while cols holds them.
func (n *Normalizer) Add(rec *schemas.Record, cols *Columns) int {
	n.events = schemas.AppendEvents(n.events[:0], rec)
	for i := range n.events {
		ev := &n.events[i]
		n.pairer.Pair(ev)
		cols.Append(EventID(rec, ev.BatchIndex), ev, rec)
	}
	return len(n.events)
}
