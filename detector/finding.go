package detector

import (
	"fmt"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Severity ranks a finding: Info < Low < Medium < High < Critical. Its text
// form ("info" … "critical") is what rule files, JSONL output and the
// ClickHouse findings table use.
type Severity int8

// The severities, in increasing order.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

// String returns the severity's name.
func (s Severity) String() string {
	if s < Info || s > Critical {
		return "severity(" + strconv.Itoa(int(s)) + ")"
	}
	return severityNames[s]
}

// MarshalText encodes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) {
	if s < Info || s > Critical {
		return nil, fmt.Errorf("detector: severity %d out of range", int(s))
	}
	return []byte(severityNames[s]), nil
}

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity returns the severity named name.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if n == name {
			return Severity(i), nil
		}
	}
	return Info, fmt.Errorf("detector: unknown severity %q (want info, low, medium, high or critical)", name)
}

// Evidence is one piece of what a finding rests on: what matched, a short
// excerpt of the text it matched in, and a hash that lets an investigator
// find the full value in storage without the finding repeating it.
type Evidence struct {
	// What says what this piece shows, e.g. "argument repeats result text".
	What string `json:"what"`
	// CallID is the JSON-RPC id of the message it was seen in, if any.
	CallID string `json:"call_id,omitzero"`
	// Tool is the tool (or method target) of that message.
	Tool string `json:"tool,omitzero"`
	// Excerpt is at most a couple hundred characters of the matched text.
	Excerpt string `json:"excerpt,omitzero"`
	// Hash is the hex xxhash64 of the full matched value.
	Hash string `json:"hash,omitzero"`
}

// Finding is one conclusion of the detector about one session.
type Finding struct {
	// ID is stable across re-runs over the same events: xxhash64 over the
	// rule, the session and the call ids (see FindingID).
	ID       uint64    `json:"id"`
	TS       time.Time `json:"ts"`
	Session  string    `json:"session"`
	Rule     string    `json:"rule"`
	Severity Severity  `json:"severity"`
	Title    string    `json:"title"`
	// CallIDs are the JSON-RPC ids of the calls involved, oldest first.
	CallIDs  []string   `json:"call_ids"`
	Evidence []Evidence `json:"evidence"`
	Host     string     `json:"host,omitzero"`
	Server   string     `json:"server,omitzero"`
	Client   string     `json:"client,omitzero"`
}

// FindingID is the stable id of a finding of rule on session that involves
// callIDs (and key, a rule-specific discriminator such as a tool name, for
// findings without calls).
func FindingID(rule, session, key string, callIDs []string) uint64 {
	var d xxhash.Digest
	d.Reset()
	write := func(s string) {
		_, _ = d.WriteString(s)
		_, _ = d.Write([]byte{0})
	}
	write(rule)
	write(session)
	write(key)
	for _, s := range callIDs {
		write(s)
	}
	return d.Sum64()
}
