package detector

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mcptrail/mcptrail/schemas"
)

// Rule ids of the token and OAuth detections.
const (
	RuleTokenAudienceMismatch = "token.audience-mismatch"
	RuleTokenMultiServer      = "token.multi-server"
	RuleTokenExpired          = "token.expired"
	RuleTokenMultiHost        = "token.multi-host"
	RuleOAuthNoPKCE           = "oauth.no-pkce"
	RuleOAuthSuspiciousURL    = "oauth.suspicious-endpoint"
)

const (
	// maxTokenHistory bounds the token fingerprints remembered across
	// sessions; past it the least recently used go.
	maxTokenHistory = 100_000
	// expirySkew is the clock skew forgiven before a token counts as
	// expired.
	expirySkew = 60 * time.Second
)

// tokens flags bearer-token misuse (a token for another audience, one
// token at several servers or from several hosts, an expired token) and
// weak or odd OAuth flows (no PKCE S256, authorization endpoints that are
// not https, IP literals, userinfo, punycode, or another host than the
// authorization server's metadata). It reads only the collector's token
// facts (keyed fingerprint and unverified claims), never a token.
type tokens struct {
	fps      *lru[string, *tokenHistory]
	sessions map[string]*authSession
}

func newTokens() *tokens {
	return &tokens{fps: newLRU[string, *tokenHistory](maxTokenHistory), sessions: map[string]*authSession{}}
}

// tokenHistory is where one fingerprint was used: the servers it was
// presented to and the clients that presented it.
type tokenHistory struct {
	servers    []string
	presenters []*presenter
}

// authSession is what a session's OAuth events said.
type authSession struct {
	// resources are the RFC 8707 resources the session's flows asked for.
	resources []string
	// issuers are the hosts of the authorization server metadata fetched.
	issuers []string
	// seen are the (token, server, host) uses already judged.
	seen map[tokenUse]bool
}

type tokenUse struct{ fp, server, url, host string }

func (d *tokens) session(s *Session) *authSession {
	as := d.sessions[s.ID]
	if as == nil {
		as = &authSession{seen: map[tokenUse]bool{}}
		d.sessions[s.ID] = as
	}
	return as
}

func (d *tokens) EndSession(s *Session, _ Emit) { delete(d.sessions, s.ID) }

func (d *tokens) Observe(s *Session, o *Observation, emit Emit) {
	rec := o.Record
	if rec.Token == nil && rec.Auth == nil || o.Event.BatchIndex > 0 {
		return
	}
	if rec.Auth != nil {
		d.auth(s, o, rec.Auth, emit)
	}
	if rec.Token != nil && rec.Token.FP != "" && rec.Dir == schemas.ClientToServer {
		d.use(s, o, rec.Token, emit)
	}
}

// serverKey names the server a token was presented to: its URL without
// query, or its name for servers without one.
func serverKey(srv schemas.Server) string {
	if r := canonicalResource(srv.URL); r != "" {
		return r
	}
	return "name:" + srv.Name
}

func (d *tokens) use(s *Session, o *Observation, tok *schemas.Token, emit Emit) {
	rec := o.Record
	ts := o.Event.TS
	fp := tok.FP
	short := fp
	if len(short) > 16 {
		short = short[:16]
	}
	finding := func(rule string, sev Severity, title, what string) {
		f := s.NewFinding(ts, rule, sev, title, callsOf(o), []Evidence{{What: what, CallID: string(o.Event.RPCID), Hash: hashString(fp)}})
		f.Server = rec.Server.Name
		f.ID = FindingID(rule, s.ID, fp, f.CallIDs)
		emit(f)
	}
	if tok.Exp > 0 && ts.After(time.Unix(tok.Exp, 0).Add(expirySkew)) && s.once(RuleTokenExpired, fp) {
		finding(RuleTokenExpired, Medium, "A bearer token is used after it expired",
			fmt.Sprintf("token %s… expired at %s, used at %s", short, time.Unix(tok.Exp, 0).UTC().Format(time.RFC3339), ts.UTC().Format(time.RFC3339)))
	}
	// The rest depends on the token, the server and the host only: judge
	// each combination once per session.
	as := d.session(s)
	use := tokenUse{fp, rec.Server.Name, rec.Server.URL, rec.Host}
	if as.seen[use] {
		return
	}
	if len(as.seen) < 256 {
		as.seen[use] = true
	}
	if len(tok.Aud) > 0 {
		resources := d.resourcesOf(s, rec.Server)
		if len(resources) > 0 && !audienceMatches(tok.Aud, resources) && s.once(RuleTokenAudienceMismatch, fp) {
			finding(RuleTokenAudienceMismatch, High, "A bearer token issued for another audience is presented to this server (token passthrough or replay)",
				fmt.Sprintf("token %s… audience %s; server resource %s", short, strings.Join(tok.Aud, ", "), strings.Join(resources, ", ")))
		}
	}
	h, _ := d.fps.get(fp)
	if h == nil {
		h = &tokenHistory{}
		d.fps.put(fp, h)
	}
	if key := serverKey(rec.Server); !slices.Contains(h.servers, key) {
		if len(h.servers) > 0 && s.once(RuleTokenMultiServer, fp+key) {
			finding(RuleTokenMultiServer, High, "One bearer token is presented to several servers",
				fmt.Sprintf("token %s… at %s, earlier at %s", short, key, strings.Join(h.servers, ", ")))
		}
		h.servers = pushKnown(h.servers, key)
	}
	if earlier := h.presentedFrom(rec.Host, s.ID); len(earlier) > 0 && s.once(RuleTokenMultiHost, fp+rec.Host) {
		finding(RuleTokenMultiHost, High, "One bearer token is used from several hosts",
			fmt.Sprintf("token %s… from host %s, earlier from %s", short, rec.Host, strings.Join(earlier, ", ")))
	}
}

func callsOf(o *Observation) []*Call {
	if o.Call != nil {
		return []*Call{o.Call}
	}
	return nil
}

// resourcesOf returns what a token presented to srv should be for: the
// resources the session's OAuth flows asked for, else the server's URL.
func (d *tokens) resourcesOf(s *Session, srv schemas.Server) []string {
	if as := d.sessions[s.ID]; as != nil && len(as.resources) > 0 {
		return as.resources
	}
	if r := canonicalResource(srv.URL); r != "" {
		return []string{r}
	}
	return nil
}

// audienceMatches reports whether one of the audiences names one of the
// resources: the same URL, its origin, or a parent path of it. Audiences
// that are not URLs (client ids, opaque names) cannot be judged and match.
func audienceMatches(aud []string, resources []string) bool {
	judged := false
	for _, a := range aud {
		ca := canonicalResource(a)
		if ca == "" {
			continue
		}
		judged = true
		for _, r := range resources {
			if ca == r || ca == origin(r) || strings.HasPrefix(r, ca+"/") {
				return true
			}
		}
	}
	return !judged
}

// canonicalResource returns u as scheme://host[:port]/path in lower case
// (path kept as is), without default port, query, fragment or trailing
// slash; "" if u is not an absolute http(s) URL.
func canonicalResource(u string) string {
	if u == "" || !strings.Contains(u, "://") {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http" && p.Scheme != "HTTPS" && p.Scheme != "HTTP") {
		return ""
	}
	scheme := strings.ToLower(p.Scheme)
	host := strings.ToLower(p.Hostname())
	if port := p.Port(); port != "" && !(scheme == "https" && port == "443" || scheme == "http" && port == "80") {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + strings.TrimRight(p.EscapedPath(), "/")
}

// origin is the scheme://host[:port] of a canonical resource.
func origin(r string) string {
	i := strings.Index(r, "://")
	if i < 0 {
		return r
	}
	if j := strings.IndexByte(r[i+3:], '/'); j >= 0 {
		return r[:i+3+j]
	}
	return r
}

func (d *tokens) auth(s *Session, o *Observation, a *schemas.AuthEvent, emit Emit) {
	as := d.session(s)
	ts := o.Event.TS
	finding := func(rule string, sev Severity, title string, ev Evidence) {
		f := s.NewFinding(ts, rule, sev, title, nil, []Evidence{ev})
		f.Server = o.Record.Server.Name
		f.ID = FindingID(rule, s.ID, ev.Excerpt+ev.What, nil)
		emit(f)
	}
	if r := canonicalResource(a.Resource); r != "" && !slices.Contains(as.resources, r) && len(as.resources) < maxKnown {
		as.resources = append(as.resources, r)
	}
	if a.Type == schemas.AuthMetadata && isASMetadata(a.Endpoint) {
		if u, err := url.Parse(a.Endpoint); err == nil && u.Hostname() != "" {
			host := strings.ToLower(u.Hostname())
			if !slices.Contains(as.issuers, host) && len(as.issuers) < maxKnown {
				as.issuers = append(as.issuers, host)
			}
		}
	}
	if a.Type == schemas.AuthAuthorizationRequest && a.CodeChallengeMethod != "S256" && s.once(RuleOAuthNoPKCE, a.Endpoint) {
		method := a.CodeChallengeMethod
		if method == "" {
			method = "none"
		}
		finding(RuleOAuthNoPKCE, High, "An OAuth authorization request without PKCE S256 (code interception)", Evidence{
			What: "code_challenge_method " + method, Excerpt: endpointExcerpt(a.Endpoint), Hash: hashString(a.Endpoint),
		})
	}
	if a.Endpoint != "" && a.Type != schemas.AuthTokenResponse {
		if sev, why := suspiciousEndpoint(a.Endpoint, a.Type, as.issuers); why != nil && s.once(RuleOAuthSuspiciousURL, a.Endpoint) {
			finding(RuleOAuthSuspiciousURL, sev, "An OAuth endpoint looks wrong for an authorization server", Evidence{
				What: string(a.Type) + " endpoint: " + strings.Join(why, "; "), Excerpt: endpointExcerpt(a.Endpoint), Hash: hashString(a.Endpoint),
			})
		}
	}
	if a.RedirectURI != "" {
		if u, err := url.Parse(a.RedirectURI); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) && s.once(RuleOAuthSuspiciousURL, a.RedirectURI) {
			finding(RuleOAuthSuspiciousURL, Medium, "An OAuth flow redirects to a plain-http address", Evidence{
				What: "redirect_uri is http and not loopback", Excerpt: endpointExcerpt(a.RedirectURI), Hash: hashString(a.RedirectURI),
			})
		}
	}
	if a.Type == schemas.AuthTokenResponse && a.Token != nil && a.Token.Iss != "" && len(as.issuers) > 0 {
		if u, err := url.Parse(a.Token.Iss); err == nil && u.Hostname() != "" && !sameSite(strings.ToLower(u.Hostname()), as.issuers) && s.once(RuleOAuthSuspiciousURL, a.Token.Iss) {
			finding(RuleOAuthSuspiciousURL, Medium, "An issued token names another issuer than the authorization server's metadata", Evidence{
				What: "token iss host is not the metadata's (" + strings.Join(as.issuers, ", ") + ")", Excerpt: endpointExcerpt(a.Token.Iss), Hash: hashString(a.Token.Iss),
			})
		}
	}
}

// isASMetadata reports whether an endpoint is authorization server
// metadata (RFC 8414 or OpenID discovery), not protected resource
// metadata.
func isASMetadata(endpoint string) bool {
	return strings.Contains(endpoint, "/.well-known/oauth-authorization-server") || strings.Contains(endpoint, "/.well-known/openid-configuration")
}

// suspiciousEndpoint returns why an OAuth endpoint looks wrong, and how
// badly.
func suspiciousEndpoint(endpoint string, typ schemas.AuthEventType, issuers []string) (Severity, []string) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return Medium, []string{"not an absolute URL"}
	}
	host := strings.ToLower(u.Hostname())
	sev := Info
	var why []string
	add := func(s Severity, reason string) {
		sev = max(sev, s)
		why = append(why, reason)
	}
	if strings.ToLower(u.Scheme) != "https" && !isLoopback(host) {
		add(High, "scheme "+u.Scheme+" (not https) on a non-loopback host")
	}
	if u.User != nil {
		add(High, "user information in the URL (hides the real host)")
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsLoopback() {
		add(Medium, "an IP address instead of a host name")
	}
	for _, label := range strings.Split(host, ".") {
		if strings.HasPrefix(label, "xn--") {
			add(Medium, "a punycode (internationalized) host name, a look-alike domain")
			break
		}
	}
	switch typ {
	case schemas.AuthAuthorizationRequest, schemas.AuthTokenRequest, schemas.AuthRegistration:
		if len(issuers) > 0 && !isLoopback(host) && !sameSite(host, issuers) {
			add(Medium, "host differs from the authorization server metadata's ("+strings.Join(issuers, ", ")+")")
		}
	}
	if why == nil {
		return Info, nil
	}
	return sev, why
}

func isLoopback(host string) bool {
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameSite reports whether host is one of hosts or shares its last two
// labels (its registrable domain, roughly) with one of them.
func sameSite(host string, hosts []string) bool {
	for _, h := range hosts {
		if h == host || siteOf(h) == siteOf(host) {
			return true
		}
	}
	return false
}

func siteOf(host string) string {
	if net.ParseIP(host) != nil {
		return host
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(labels) <= 2 {
		return host
	}
	n := 2
	// example.co.uk, example.com.au: a short second-level label.
	if len(labels[len(labels)-2]) <= 3 && len(labels[len(labels)-1]) == 2 && len(labels) >= 3 {
		n = 3
	}
	return strings.Join(labels[len(labels)-n:], ".")
}

// endpointExcerpt is an endpoint without its query (which can carry
// codes or state).
func endpointExcerpt(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if len(u) > 200 {
		u = u[:200]
	}
	return u
}
