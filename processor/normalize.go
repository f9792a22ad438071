package processor

import "github.com/mcptrail/mcptrail/schemas"

// Normalizer runs the core path for one consumer: decode, normalize, pair,
// hash and append. It is not safe for concurrent use.
type Normalizer struct {
	dec    schemas.Decoder
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

// Decode is the package's Decode, keeping the decoder's state from one
// message to the next; the JSON-RPC messages it finds in the record are
// not parsed again when Add takes the record next.
func (n *Normalizer) Decode(line []byte, rec *schemas.Record) error {
	return decode(&n.dec, line, rec)
}

// Add normalizes rec into events, appends them to cols and returns how
// many it appended. The rows refer to rec's message: rec must not be
// changed while cols holds them.
func (n *Normalizer) Add(rec *schemas.Record, cols *Columns) int {
	n.events = n.dec.AppendEvents(n.events[:0], rec)
	for i := range n.events {
		ev := &n.events[i]
		n.pairer.Pair(ev)
		cols.Append(EventID(rec, ev.BatchIndex), ev, rec)
	}
	return len(n.events)
}

// AddChained is Add for a record of a collector stream, given its
// canonical bytes (see Canonical): the record's first row also gets its
// chain frame, so that verify can recompute the chain from storage.
func (n *Normalizer) AddChained(rec *schemas.Record, canon []byte, cols *Columns) int {
	first := cols.Len()
	k := n.Add(rec, cols)
	if k > 0 && len(canon) > 0 {
		f := MakeFrame(canon, rec, n.events)
		cols.ChainFrame[first] = f.Bytes
		if len(f.Cuts) > 0 {
			cols.ChainCuts[first] = f.Cuts
		}
	}
	return k
}
