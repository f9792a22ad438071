package alert

import (
	"context"
	"fmt"
	"time"

	"github.com/mcptrail/mcptrail/detector"
)

// Change says why an Alert is being sent.
type Change int8

const (
	// Opened is the first notice of an incident.
	Opened Change = iota
	// Escalated is sent when a new finding raised the incident's severity.
	Escalated
	// Refreshed re-sends an incident that has not changed, to outputs that
	// need active alerts repeated (see Refresher).
	Refreshed
)

var changeNames = [...]string{"opened", "escalated", "refreshed"}

// String returns the change's name: "opened", "escalated" or "refreshed".
func (c Change) String() string {
	if c < Opened || c > Refreshed {
		return "change(?)"
	}
	return changeNames[c]
}

// MarshalText encodes the change as its name.
func (c Change) MarshalText() ([]byte, error) {
	if c < Opened || c > Refreshed {
		return nil, fmt.Errorf("alert: change %d out of range", int(c))
	}
	return []byte(changeNames[c]), nil
}

// UnmarshalText decodes a change's name.
func (c *Change) UnmarshalText(b []byte) error {
	for i, n := range changeNames {
		if n == string(b) {
			*c = Change(i)
			return nil
		}
	}
	return fmt.Errorf("alert: unknown change %q (want opened, escalated or refreshed)", b)
}

// Alert is one incident: the findings of one session, grouped. It is a
// snapshot; the Notifier keeps the live state.
type Alert struct {
	// Key identifies the incident across sends (the group key: the session).
	// Outputs use it as their deduplication key.
	Key string `json:"key"`
	// Change is why this snapshot is sent.
	Change Change `json:"change"`
	// Session is the MCP session the findings are about.
	Session string `json:"session"`
	// Severity is the highest severity among the findings.
	Severity detector.Severity `json:"severity"`
	// Title is the title of the first finding with the highest severity.
	Title string `json:"title"`
	// Rule is the rule of that finding: the incident's leading rule.
	Rule string `json:"rule"`
	// Rules are the distinct rule ids of the findings, in order of arrival.
	Rules []string `json:"rules"`
	// CallIDs are the distinct JSON-RPC ids of the calls involved, in order
	// of arrival, at most MaxCallIDs of them.
	CallIDs []string `json:"call_ids"`
	// Count is the number of distinct findings (by Finding.ID).
	Count int `json:"count"`
	// FirstTS and LastTS are the earliest and latest finding times.
	FirstTS time.Time `json:"first_ts"`
	LastTS  time.Time `json:"last_ts"`
	// Host, Server and Client are those of the first finding that named them.
	Host   string `json:"host,omitzero"`
	Server string `json:"server,omitzero"`
	Client string `json:"client,omitzero"`
	// URL links to the session (from the Notifier's link template); empty
	// when no template is configured.
	URL string `json:"url,omitzero"`
	// EndsAt is when the incident closes unless another finding arrives:
	// the Notifier's clock at the last finding plus its TTL.
	EndsAt time.Time `json:"ends_at"`
}

// Output delivers alerts somewhere: Alertmanager, a webhook, Slack.
type Output interface {
	// Name names the output in errors and logs, such as "webhook".
	Name() string
	// Send delivers alerts (at least one). It returns when they are
	// delivered or have failed; a failed Send is retried by the Notifier.
	Send(ctx context.Context, alerts []Alert) error
}

// Refresher is an Output that wants every open incident sent again
// periodically (with Change Refreshed), as Alertmanager expects of its
// clients to keep an alert firing.
type Refresher interface {
	Output
	// RefreshInterval is how often open incidents are re-sent.
	RefreshInterval() time.Duration
}
