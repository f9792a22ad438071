package proxy

import (
	"strings"
)

// metadataPrefixes are the discovery documents recorded as auth events:
// RFC 9728 protected resource metadata, RFC 8414 authorization server
// metadata and OpenID Connect discovery.
var metadataPrefixes = [...]string{
	"/.well-known/oauth-protected-resource",
	"/.well-known/oauth-authorization-server",
	"/.well-known/openid-configuration",
}

// isMetadataPath tells whether path is a discovery document (with or
// without a path suffix, or OpenID's issuer-path form).
func isMetadataPath(path string) bool {
	for _, p := range metadataPrefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return strings.HasSuffix(path, "/.well-known/openid-configuration")
}

// documentURL is the upstream URL of a document at path.
func (p *Proxy) documentURL(path string) string {
	return p.upstream.Scheme + "://" + p.upstream.Host + path
}

// challenge is what a WWW-Authenticate header tells a client.
type challenge struct {
	resourceMetadata string
	scope            string
}

// parseChallenge reads the resource_metadata (RFC 9728) and scope
// parameters of a Bearer challenge; it is lenient and never fails.
func parseChallenge(h string) challenge {
	var c challenge
	s := h
	for s != "" {
		// Find the next name=value pair.
		i := strings.IndexByte(s, '=')
		if i < 0 {
			break
		}
		name := strings.TrimSpace(s[:i])
		if j := strings.LastIndexAny(name, " \t,"); j >= 0 {
			name = name[j+1:]
		}
		s = strings.TrimLeft(s[i+1:], " \t")
		var value string
		if strings.HasPrefix(s, `"`) {
			value, s = quoted(s[1:])
		} else {
			end := strings.IndexAny(s, ", \t")
			if end < 0 {
				end = len(s)
			}
			value, s = s[:end], s[end:]
		}
		switch strings.ToLower(name) {
		case "resource_metadata":
			c.resourceMetadata = value
		case "scope":
			c.scope = value
		}
	}
	return c
}

// quoted reads a quoted-string body up to its closing quote, handling
// backslash escapes, and returns the value and the rest.
func quoted(s string) (string, string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}
