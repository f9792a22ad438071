package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/go-json-experiment/json"
)

// CanonicalBytes is the record as its chain value covers it: the record
// without its chain member, as deterministic JSON. Decoding a record and
// encoding it again gives the same bytes, so a reader recomputes exactly
// what the collector hashed.
func (r *Record) CanonicalBytes() ([]byte, error) {
	c := *r
	c.Chain = ""
	b, err := json.Marshal(&c, json.Deterministic(true))
	if err != nil {
		return nil, fmt.Errorf("canonical bytes of record: %w", err)
	}
	return b, nil
}

// ChainValue is the chain value of r given the chain value of the record
// before it in its stream (empty for the first): hex SHA-256 over prev and
// r's canonical bytes.
func (r *Record) ChainValue(prev string) (string, error) {
	b, err := r.CanonicalBytes()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Sealer numbers and chains the records of one collector stream. It is not
// safe for concurrent use: records are sealed in the order they are sent.
type Sealer struct {
	stream string
	seq    uint64
	prev   string
}

// NewSealer starts a stream with the given id, which must be unique per
// collector process (a random id is a good choice).
func NewSealer(stream string) *Sealer { return &Sealer{stream: stream} }

// Seal sets the record's stream, its sequence number (1, 2, …) and its
// chain value. Seal the record as it will be sent: any later change to it
// breaks the chain.
func (s *Sealer) Seal(r *Record) error {
	r.Stream, r.Seq, r.Chain = s.stream, s.seq+1, ""
	v, err := r.ChainValue(s.prev)
	if err != nil {
		return err
	}
	s.seq++
	s.prev, r.Chain = v, v
	return nil
}

// SealEncode seals r and returns it encoded as a capture line (without the
// line break), hashing and encoding it with a single marshal: the chain
// member is the last one of a record without unknown members, so the line
// is the canonical bytes with the chain appended.
func (s *Sealer) SealEncode(r *Record) ([]byte, error) {
	if len(r.Unknown) > 0 {
		if err := s.Seal(r); err != nil {
			return nil, err
		}
		return json.Marshal(r, json.Deterministic(true))
	}
	r.Stream, r.Seq, r.Chain = s.stream, s.seq+1, ""
	canon, err := r.CanonicalBytes()
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte(s.prev))
	h.Write(canon)
	r.Chain = hex.EncodeToString(h.Sum(nil))
	s.seq++
	s.prev = r.Chain
	line := make([]byte, 0, len(canon)+len(`,"chain":""`)+len(r.Chain))
	line = append(line, canon[:len(canon)-1]...)
	line = append(line, `,"chain":"`...)
	line = append(line, r.Chain...)
	line = append(line, `"}`...)
	return line, nil
}

// ChainProblemKind classifies a break in a stream's chain.
type ChainProblemKind string

// Chain problems.
const (
	// ChainGap: records are missing (deleted, or not delivered yet).
	ChainGap ChainProblemKind = "gap"
	// ChainReorder: a record came after a later one of its stream.
	ChainReorder ChainProblemKind = "reorder"
	// ChainEdit: a record's chain value does not match its content and
	// predecessor (edited, or inserted).
	ChainEdit ChainProblemKind = "edit"
	// ChainDuplicate: the same record (same seq and chain) came again,
	// which at-least-once delivery allows.
	ChainDuplicate ChainProblemKind = "duplicate"
	// ChainConflict: two different records claim the same seq.
	ChainConflict ChainProblemKind = "conflict"
)

// ChainProblem is one break found by a ChainChecker.
type ChainProblem struct {
	Kind   ChainProblemKind
	Stream string
	// Seq is the record that showed the problem; for a gap, From and To
	// are the missing sequence numbers (inclusive).
	Seq      uint64
	From, To uint64
	Detail   string
}

// String describes the problem in one line.
func (p ChainProblem) String() string {
	if p.Kind == ChainGap {
		return fmt.Sprintf("stream %s: gap: records %d..%d missing before seq %d", p.Stream, p.From, p.To, p.Seq)
	}
	return fmt.Sprintf("stream %s: seq %d: %s: %s", p.Stream, p.Seq, p.Kind, p.Detail)
}

// ChainChecker checks streams whose records arrive in sequence order (as
// stored records read back sorted by seq, or one stream's records in
// order). Records without a stream are not chained and are ignored.
type ChainChecker struct {
	streams map[string]*streamState
}

type streamState struct {
	seq   uint64 // last seq seen
	chain string // its chain value as received
}

// NewChainChecker returns a checker with no streams seen.
func NewChainChecker() *ChainChecker {
	return &ChainChecker{streams: map[string]*streamState{}}
}

// Check verifies the next record of its stream and returns the problems it
// shows, if any. A stream whose first record seen has a seq above 1 is
// reported as a gap from 1.
func (c *ChainChecker) Check(r *Record) ([]ChainProblem, error) {
	if r.Stream == "" {
		return nil, nil
	}
	st := c.streams[r.Stream]
	if st == nil {
		st = &streamState{}
		c.streams[r.Stream] = st
	}
	var problems []ChainProblem
	problem := func(kind ChainProblemKind, detail string) {
		problems = append(problems, ChainProblem{Kind: kind, Stream: r.Stream, Seq: r.Seq, Detail: detail})
	}
	switch {
	case r.Seq == st.seq && r.Chain == st.chain:
		problem(ChainDuplicate, "delivered again")
		return problems, nil
	case r.Seq == st.seq:
		problem(ChainConflict, fmt.Sprintf("chain %.12s… differs from the record already seen with this seq (%.12s…)", r.Chain, st.chain))
		return problems, nil
	case r.Seq < st.seq:
		problem(ChainReorder, fmt.Sprintf("arrived after seq %d", st.seq))
		return problems, nil
	}
	prev := st.chain
	if r.Seq > st.seq+1 {
		problems = append(problems, ChainProblem{Kind: ChainGap, Stream: r.Stream, Seq: r.Seq, From: st.seq + 1, To: r.Seq - 1})
		prev = "" // the predecessor is unknown: only the record's own hash cannot be checked
	}
	if r.Seq == st.seq+1 || r.Seq == 1 {
		want, err := r.ChainValue(prev)
		if err != nil {
			return problems, err
		}
		if want != r.Chain {
			problem(ChainEdit, "chain value does not match the record and its predecessor")
		}
	}
	st.seq, st.chain = r.Seq, r.Chain
	return problems, nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
