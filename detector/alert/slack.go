package alert

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/detector"
)

// Slack's limits on the parts of a message (Block Kit).
const (
	slackHeaderMax  = 150
	slackTextMax    = 3000
	slackFieldMax   = 2000
	slackContextMax = 2000
	slackURLMax     = 3000
)

// SlackConfig sets up a Slack output.
type SlackConfig struct {
	// URL is the incoming webhook's URL (it is the secret: keep it out of
	// logs; errors name only its host).
	URL string
	// Client sends the requests; nil means a client with DefaultTimeout.
	Client *http.Client
	// Retry is the retry policy (zero: the defaults).
	Retry Retry
}

// Slack is an Output that posts one message per alert to a Slack incoming
// webhook (or a compatible one: Mattermost, Rocket.Chat and others read the
// text member). The message holds what an on-call reader needs to open the
// session (severity, title, session, rules, times, link) and no evidence
// excerpts.
type Slack struct {
	p *poster
}

// NewSlack returns a Slack output.
func NewSlack(cfg SlackConfig) (*Slack, error) {
	p, err := newPoster("slack webhook", cfg.URL, cfg.Client, nil, cfg.Retry)
	if err != nil {
		return nil, err
	}
	return &Slack{p: p}, nil
}

// Name returns "slack".
func (s *Slack) Name() string { return "slack" }

// Send posts one message per alert, in order, and stops at the first that
// fails (the Notifier sends them all again).
func (s *Slack) Send(ctx context.Context, alerts []Alert) error {
	for i := range alerts {
		body, err := json.Marshal(SlackMessage(&alerts[i]))
		if err != nil {
			return fmt.Errorf("slack: encode alert %s: %w", alerts[i].Key, err)
		}
		if err := s.p.post(ctx, body); err != nil {
			return fmt.Errorf("slack: alert %d of %d: %w", i+1, len(alerts), err)
		}
	}
	return nil
}

// SlackPayload is an incoming-webhook message: a plain-text fallback and
// Block Kit blocks.
type SlackPayload struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is one Block Kit block (header, section, context or actions).
type SlackBlock struct {
	Type     string         `json:"type"`
	Text     *SlackText     `json:"text,omitzero"`
	Fields   []SlackText    `json:"fields,omitzero"`
	Elements []SlackElement `json:"elements,omitzero"`
}

// SlackText is a Block Kit text object.
type SlackText struct {
	Type string `json:"type"` // "plain_text" or "mrkdwn"
	Text string `json:"text"`
}

// SlackElement is a context element (a text object) or an actions button.
type SlackElement struct {
	Type string `json:"type"` // "mrkdwn" or "button"
	Text any    `json:"text"` // a string for mrkdwn, a *SlackText for a button
	URL  string `json:"url,omitzero"`
}

var severityEmoji = map[detector.Severity]string{
	detector.Info:     ":information_source:",
	detector.Low:      ":large_blue_circle:",
	detector.Medium:   ":large_yellow_circle:",
	detector.High:     ":large_orange_circle:",
	detector.Critical: ":red_circle:",
}

// SlackMessage renders a as a Slack message.
func SlackMessage(a *Alert) SlackPayload {
	sev := strings.ToUpper(a.Severity.String())
	verb := ""
	if a.Change == Escalated {
		verb = "escalated to "
	}
	text := escapeMrkdwn(fmt.Sprintf("[%s%s] %s (session %s, %s)", verb, sev, a.Title, a.Session, plural(a.Count, "finding")))
	if a.URL != "" && len(a.URL) <= slackURLMax && !strings.ContainsAny(a.URL, "<>|") {
		text += " <" + a.URL + "|open session>"
	}
	header := fmt.Sprintf("%s %s%s: %s", severityEmoji[a.Severity], verb, sev, a.Title)

	fields := []SlackText{
		mrkdwn("*Session*\n`" + codeSafe(a.Session) + "`"),
		mrkdwn("*Severity*\n" + a.Severity.String()),
		mrkdwn("*Rules*\n" + escapeMrkdwn(strings.Join(a.Rules, ", "))),
		mrkdwn("*Findings*\n" + strconv.Itoa(a.Count)),
		mrkdwn("*First seen*\n" + slackTime(a.FirstTS)),
		mrkdwn("*Last seen*\n" + slackTime(a.LastTS)),
	}
	for _, f := range [...]struct{ name, v string }{{"Host", a.Host}, {"Server", a.Server}, {"Client", a.Client}} {
		if f.v != "" && len(fields) < 10 {
			fields = append(fields, mrkdwn("*"+f.name+"*\n"+escapeMrkdwn(f.v)))
		}
	}
	for i := range fields {
		fields[i].Text = truncate(fields[i].Text, slackFieldMax)
	}
	blocks := []SlackBlock{
		{Type: "header", Text: &SlackText{Type: "plain_text", Text: truncate(header, slackHeaderMax)}},
		{Type: "section", Fields: fields},
	}
	if len(a.CallIDs) > 0 {
		quoted := make([]string, len(a.CallIDs))
		for i, id := range a.CallIDs {
			quoted[i] = "`" + codeSafe(id) + "`"
		}
		calls := "Calls: " + strings.Join(quoted, ", ")
		blocks = append(blocks, SlackBlock{Type: "context", Elements: []SlackElement{{Type: "mrkdwn", Text: truncate(calls, slackContextMax)}}})
	}
	if a.URL != "" && len(a.URL) <= slackURLMax {
		blocks = append(blocks, SlackBlock{Type: "actions", Elements: []SlackElement{{
			Type: "button",
			Text: &SlackText{Type: "plain_text", Text: "Open session"},
			URL:  a.URL,
		}}})
	}
	return SlackPayload{Text: truncate(text, slackTextMax), Blocks: blocks}
}

func mrkdwn(s string) SlackText { return SlackText{Type: "mrkdwn", Text: s} }

// escapeMrkdwn escapes the three characters Slack gives a meaning in text.
func escapeMrkdwn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// codeSafe makes s safe inside `code`.
func codeSafe(s string) string { return escapeMrkdwn(strings.ReplaceAll(s, "`", "'")) }

// slackTime formats t in UTC to the second, or "-" when unknown.
func slackTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
