package processor

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/schemas"
)

// chainSuffixLen is the length of `,"chain":"<64 hex>"}`, how a sealed
// capture line (schemas.Sealer.SealEncode) ends.
const chainSuffixLen = len(`,"chain":""}`) + 64

// Canonical returns the canonical bytes of rec (schemas.Record.CanonicalBytes)
// given line, the capture line rec was decoded from. A line written by the
// collector's sealer is its canonical bytes with the chain member appended,
// so the common case is a copy of the line without it; fromLine reports
// that case. A line of any other shape is encoded again, which is slower.
// The caller verifies the chain over the result either way; when a
// line-derived value fails, CanonicalFromBytes gives the exact one.
func Canonical(rec *schemas.Record, line []byte) (canon []byte, fromLine bool, err error) {
	if rec.Stream == "" {
		return nil, false, nil
	}
	if n := len(line); len(rec.Chain) == 64 && n > chainSuffixLen && len(rec.Unknown) == 0 {
		suffix := line[n-chainSuffixLen:]
		if bytes.HasPrefix(suffix, []byte(`,"chain":"`)) && string(suffix[10:74]) == rec.Chain && string(suffix[74:]) == `"}` {
			canon = make([]byte, 0, n-chainSuffixLen+1)
			canon = append(canon, line[:n-chainSuffixLen]...)
			return append(canon, '}'), true, nil
		}
	}
	canon, err = rec.CanonicalBytes()
	return canon, false, err
}

// CanonicalFromBytes decodes b, a record without its chain member, and
// returns its canonical bytes: b itself when b is canonical already.
func CanonicalFromBytes(b []byte) ([]byte, error) {
	var rec schemas.Record
	if err := DecodeCanonical(b, "", &rec); err != nil {
		return nil, err
	}
	return rec.CanonicalBytes()
}

// DecodeCanonical decodes canonical bytes (a record without its chain
// member) into rec and gives it chain. With a chain, it validates the
// record as Decode does.
func DecodeCanonical(canon []byte, chain string, rec *schemas.Record) error {
	*rec = schemas.Record{}
	if err := json.Unmarshal(canon, rec); err != nil {
		return fmt.Errorf("decode canonical record: %w", err)
	}
	if rec.Chain != "" {
		return errors.New("decode canonical record: it has a chain member")
	}
	if chain == "" {
		return nil
	}
	rec.Chain = chain
	if err := rec.Validate(); err != nil {
		return fmt.Errorf("decode canonical record: %w", err)
	}
	return nil
}

// Frame is what the events table keeps of a chained record besides its
// rows' params and result: its canonical bytes with those cut out, and
// where they go back (Cuts: pairs of offset in Bytes and source, where
// source is 2*row for the row's params and 2*row+1 for its result, rows
// counted in the record's order). Empty Cuts mean Bytes is the whole record.
type Frame struct {
	Bytes []byte
	Cuts  []uint32
}

// span is one params or result slice inside the canonical bytes.
type span struct {
	off, end int
	src      uint32
}

// MakeFrame cuts the params and result of events (the rows of rec, in
// order; they are slices of rec.Msg) out of canon, the record's canonical
// bytes. When they cannot be found in canon (a message that was encoded
// again differently), the frame is the whole of canon.
func MakeFrame(canon []byte, rec *schemas.Record, events []schemas.Event) Frame {
	whole := Frame{Bytes: canon}
	if len(rec.Msg) == 0 || len(canon) > 1<<31 {
		return whole
	}
	msgOff := bytes.Index(canon, rec.Msg)
	if msgOff < 0 {
		return whole
	}
	var spans []span
	for i := range events {
		for j, part := range [2][]byte{events[i].Params, events[i].Result} {
			if len(part) == 0 {
				continue
			}
			off, ok := within(rec.Msg, part)
			if !ok {
				return whole
			}
			spans = append(spans, span{msgOff + off, msgOff + off + len(part), uint32(2*i + j)})
		}
	}
	if len(spans) == 0 {
		return whole
	}
	slices.SortFunc(spans, func(a, b span) int { return a.off - b.off })
	size := len(canon)
	for i, s := range spans {
		if i > 0 && s.off < spans[i-1].end {
			return whole // overlapping: not two separate members
		}
		size -= s.end - s.off
	}
	f := Frame{Bytes: make([]byte, 0, size), Cuts: make([]uint32, 0, 2*len(spans))}
	last := 0
	for _, s := range spans {
		f.Bytes = append(f.Bytes, canon[last:s.off]...)
		f.Cuts = append(f.Cuts, uint32(len(f.Bytes)), s.src)
		last = s.end
	}
	f.Bytes = append(f.Bytes, canon[last:]...)
	return f
}

// within returns the offset of sub inside msg when sub is a slice of msg's
// backing array.
func within(msg, sub []byte) (int, bool) {
	if len(sub) == 0 || len(msg) == 0 {
		return 0, false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(msg)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	if p < base || p+uintptr(len(sub)) > base+uintptr(len(msg)) {
		return 0, false
	}
	return int(p - base), true
}

// Rebuild puts a record's canonical bytes back together from its frame and
// the params and result of its rows (in the record's order).
func Rebuild(frame []byte, cuts []uint32, params, result [][]byte) ([]byte, error) {
	if len(cuts) == 0 {
		return frame, nil
	}
	if len(cuts)%2 != 0 {
		return nil, fmt.Errorf("chain_cuts has %d entries, want pairs", len(cuts))
	}
	size := len(frame)
	for i := 1; i < len(cuts); i += 2 {
		row, res := int(cuts[i]/2), cuts[i]%2 == 1
		if row >= len(params) {
			return nil, fmt.Errorf("chain_cuts names row %d of a record stored as %d rows", row, len(params))
		}
		if res {
			size += len(result[row])
		} else {
			size += len(params[row])
		}
	}
	out := make([]byte, 0, size)
	last := 0
	for i := 0; i < len(cuts); i += 2 {
		off := int(cuts[i])
		if off < last || off > len(frame) {
			return nil, fmt.Errorf("chain_cuts offset %d out of order or past the frame (%d bytes)", off, len(frame))
		}
		out = append(out, frame[last:off]...)
		row := cuts[i+1] / 2
		if cuts[i+1]%2 == 1 {
			out = append(out, result[row]...)
		} else {
			out = append(out, params[row]...)
		}
		last = off
	}
	return append(out, frame[last:]...), nil
}
