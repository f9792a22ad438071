package detector

import (
	"net"
	"slices"
	"strings"
)

// presenter is one client that presented a token: the host names it was
// reported under and the sessions it used the token in. The hosts seen in
// one session are one presenter, since an MCP session runs between one
// client and one server: a machine renamed mid-session, or two collectors
// on it that name it differently, report one session under two names.
type presenter struct {
	hosts    []string
	sessions []string
}

// has reports whether host is one of p's names (see sameHost).
func (p *presenter) has(host string) bool {
	return slices.ContainsFunc(p.hosts, func(h string) bool { return sameHost(h, host) })
}

// presentedFrom records that the token was presented from host in
// session. It returns the names of the earlier presenters when host is a
// new one: a host not seen with the token before, in a session not seen
// with it before. Hosts that do not name a machine (empty, loopback) are
// ignored.
func (h *tokenHistory) presentedFrom(host, session string) (earlier []string) {
	host = normalHost(host)
	if host == "" {
		return nil
	}
	var bySession, byHost *presenter
	for _, p := range h.presenters {
		if bySession == nil && slices.Contains(p.sessions, session) {
			bySession = p
		}
		if byHost == nil && p.has(host) {
			byHost = p
		}
	}
	switch {
	case bySession != nil:
		if !bySession.has(host) {
			bySession.hosts = pushKnown(bySession.hosts, host)
		}
		if byHost != nil && byHost != bySession {
			for _, n := range byHost.hosts {
				if !bySession.has(n) {
					bySession.hosts = pushKnown(bySession.hosts, n)
				}
			}
			for _, s := range byHost.sessions {
				bySession.sessions = pushKnown(bySession.sessions, s)
			}
			h.presenters = slices.DeleteFunc(h.presenters, func(p *presenter) bool { return p == byHost })
		}
		return nil
	case byHost != nil:
		byHost.sessions = pushKnown(byHost.sessions, session)
		return nil
	}
	for _, p := range h.presenters {
		earlier = append(earlier, p.hosts...)
	}
	h.presenters = pushKnown(h.presenters, &presenter{hosts: []string{host}, sessions: []string{session}})
	return earlier
}

// normalHost returns the host name a collector reported in lower case
// without a trailing dot, or "" if it names no machine in particular.
func normalHost(host string) string {
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	if host == "" || host == "localhost" || strings.HasPrefix(host, "localhost.") {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return ""
	}
	return host
}

// sameHost reports whether two normalized host names name one machine:
// equal, or one the short name of the other ("laptop-7" and
// "laptop-7.corp.example.com").
func sameHost(a, b string) bool {
	if a == b {
		return true
	}
	if net.ParseIP(a) != nil || net.ParseIP(b) != nil {
		return false
	}
	return strings.HasPrefix(b, a+".") || strings.HasPrefix(a, b+".")
}
