package detector

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mcptrail/mcptrail/detector/textscan"
)

// Rule ids of the exfiltration detections.
const (
	RuleSecretOutbound  = "exfil.secret-in-arguments"
	RuleEncodedPayload  = "exfil.encoded-payload"
	RuleLargePayload    = "exfil.large-payload"
	RuleInjectionRelay  = "exfil.injection-relay"
	RuleUnseenRecipient = "exfil.unseen-recipient"
)

// largePayload is the argument size from which an outbound call is
// reported as large.
const largePayload = 16 << 10

// exfil flags outbound calls whose arguments carry secrets, encoded or
// large payloads, or data from other tool results after the session was
// shown injected instructions; and data sent to recipients the session
// never saw.
type exfil struct{}

func (exfil) Observe(s *Session, o *Observation, emit Emit) {
	if !o.IsCall() {
		return
	}
	c := o.Call
	if !c.Is("outbound") && !c.Is("write") {
		return
	}
	args := c.ArgText()
	ts := o.Event.TS
	out := c.Is("outbound")
	var secrets []textscan.Secret
	var enc string
	if out {
		secrets, enc = c.args.payload()
	}
	if len(secrets) > 0 && s.once(RuleSecretOutbound, c.ID) {
		ev := make([]Evidence, 0, len(secrets))
		for _, sc := range secrets {
			ev = append(ev, Evidence{What: "credential-like " + sc.Kind, CallID: c.ID, Tool: c.Tool, Excerpt: mask(sc.Value), Hash: hashString(sc.Value)})
		}
		emit(s.NewFinding(ts, RuleSecretOutbound, High, "An outbound call carries a credential", []*Call{c}, ev))
	}
	if enc != "" && s.once(RuleEncodedPayload, c.ID) {
		emit(s.NewFinding(ts, RuleEncodedPayload, Medium, "An outbound call carries a long encoded payload", []*Call{c}, []Evidence{{
			What: fmt.Sprintf("%d-character base64 or hex run", len(enc)), CallID: c.ID, Tool: c.Tool, Excerpt: textscan.Excerpt(enc, 0), Hash: hashString(enc),
		}}))
	}
	if len(args) > largePayload && out && s.once(RuleLargePayload, c.ID) {
		emit(s.NewFinding(ts, RuleLargePayload, Low, "An outbound call carries a large payload", []*Call{c}, []Evidence{{
			What: fmt.Sprintf("%d bytes of argument text", len(args)), CallID: c.ID, Tool: c.Tool, Hash: hashString(args),
		}}))
	}
	carried := s.CarriedFrom(c)
	injectionRelay(s, o, carried, emit)
	unseenRecipient(s, o, carried, emit)
}

// injectionRelay flags an outbound call that carries data from a tool
// result other than the injected one, after the session was shown
// instructions aimed at the model: the injected text sent the agent to
// fetch data and send it on.
func injectionRelay(s *Session, o *Observation, carried []Carried, emit Emit) {
	c := o.Call
	if !c.Is("outbound") {
		return
	}
	var p *Passage
	for _, q := range s.Passages {
		if q.Call.Index < c.Index && (p == nil || q.Injection.Score > p.Injection.Score) {
			p = q
		}
	}
	if p == nil {
		return
	}
	for _, cr := range carried {
		if cr.From == p.Call || cr.From.Index < p.Call.Index && p.Injection.Score < textscan.InjectionStrong {
			continue
		}
		if cr.Shingles < 1 && len(cr.Values) == 0 {
			continue
		}
		sev := Medium
		if p.Injection.Score >= textscan.InjectionStrong {
			sev = High
		}
		if !s.once(RuleInjectionRelay, c.ID) {
			return
		}
		emit(s.NewFinding(o.Event.TS, RuleInjectionRelay, sev, "After injected instructions, data from another tool result is sent out", []*Call{p.Call, cr.From, c}, []Evidence{
			{What: fmt.Sprintf("instructions aimed at the model (score %.1f)", p.Injection.Score), CallID: p.Call.ID, Tool: p.Call.Tool, Excerpt: p.Injection.Excerpt},
			{What: fmt.Sprintf("source: %d shared eight-word runs, %d shared values", cr.Shingles, len(cr.Values)), CallID: cr.From.ID, Tool: cr.From.Tool},
			{What: "sink", CallID: c.ID, Tool: c.Tool},
		}))
		return
	}
}

// unseenRecipient flags an outbound call that sends data from tool results
// to an address, URL or account that appears nowhere earlier in the
// session.
func unseenRecipient(s *Session, o *Observation, carried []Carried, emit Emit) {
	c := o.Call
	if !c.Is("outbound") || len(carried) == 0 {
		return
	}
	for _, v := range slices.Concat(c.LeafValues()...) {
		switch v.Kind {
		case textscan.ValueEmail, textscan.ValueURL, textscan.ValueDomain, textscan.ValueAccount:
		default:
			continue
		}
		if _, inResult := s.resultValues.first(v); inResult || s.SeenInArgs(v) {
			continue
		}
		if !s.once(RuleUnseenRecipient, c.ID) {
			return
		}
		emit(s.NewFinding(o.Event.TS, RuleUnseenRecipient, Low, "Data from tool results goes to a recipient the session never saw", []*Call{carried[0].From, c}, []Evidence{
			{What: "recipient " + string(v.Kind) + " first seen in this call", CallID: c.ID, Tool: c.Tool, Excerpt: v.Norm},
		}))
		return
	}
}

// mask keeps the first and last four characters of a secret.
func mask(s string) string {
	if len(s) <= 12 {
		return strings.Repeat("*", len(s))
	}
	return s[:4] + strings.Repeat("*", len(s)-8) + s[len(s)-4:]
}
