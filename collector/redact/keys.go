package redact

import (
	"bytes"
	"fmt"
)

// keyRule is a member name that means its string value is a secret.
// Names are compared normalized: ASCII lower case, without '-' and '_'.
type keyRule struct {
	norm   string // normalized name
	kind   string // marker kind
	suffix bool   // also matches names ending in norm ("db_password")
}

// builtinKeys are the member names whose string values are secrets.
// "token" is only matched whole: "progressToken" and "nextPageToken" are
// not secrets.
var builtinKeys = []keyRule{
	{"password", "password", true},
	{"passwd", "password", true},
	{"secret", "secret", true},
	{"clientsecret", "client_secret", true},
	{"secretkey", "secret", true},
	{"secretaccesskey", KindAWSSecretKey, true},
	{"token", "token", false},
	{"accesstoken", "access_token", true},
	{"refreshtoken", "refresh_token", true},
	{"sessiontoken", "session_token", true},
	{"idtoken", "id_token", false},
	{"authtoken", "token", true},
	{"apitoken", "token", true},
	{"bearertoken", "token", true},
	{"apikey", "api_key", true},
	{"privatekey", "private_key", true},
	{"authorization", "authorization", true},
	{"cookie", "cookie", true},
}

// keyMatcher tells whether a member name means a secret.
type keyMatcher struct {
	exact    map[string]int // normalized name → index into rules
	suffixes []int          // indexes of suffix rules
	rules    []keyRule
}

func newKeyMatcher(extra []string) (*keyMatcher, error) {
	m := &keyMatcher{exact: make(map[string]int)}
	add := func(r keyRule) {
		if _, dup := m.exact[r.norm]; dup {
			return
		}
		m.rules = append(m.rules, r)
		m.exact[r.norm] = len(m.rules) - 1
		if r.suffix {
			m.suffixes = append(m.suffixes, len(m.rules)-1)
		}
	}
	for _, r := range builtinKeys {
		add(r)
	}
	for i, name := range extra {
		norm := string(normalizeKey(nil, []byte(name)))
		if !hasLetter([]byte(norm)) && !hasDigit([]byte(norm)) {
			return nil, fmt.Errorf("extra key %d %q: no letters or digits", i, name)
		}
		add(keyRule{norm: norm, kind: kindFromKey(norm)})
	}
	return m, nil
}

// match returns the rule index for a member name, or -1. buf is scratch
// space; the grown buffer is returned for reuse.
func (m *keyMatcher) match(name []byte, buf []byte) (int, []byte) {
	buf = normalizeKey(buf[:0], name)
	if i, ok := m.exact[string(buf)]; ok {
		return i, buf
	}
	for _, i := range m.suffixes {
		if bytes.HasSuffix(buf, []byte(m.rules[i].norm)) {
			return i, buf
		}
	}
	return -1, buf
}

// normalizeKey appends name in ASCII lower case without '-' and '_' to dst.
func normalizeKey(dst, name []byte) []byte {
	for _, c := range name {
		switch {
		case c == '-' || c == '_':
		case 'A' <= c && c <= 'Z':
			dst = append(dst, c+'a'-'A')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// kindFromKey makes a marker kind from a normalized configured key name.
func kindFromKey(norm string) string {
	b := make([]byte, 0, len(norm))
	for i := 0; i < len(norm) && len(b) < 32; i++ {
		c := norm[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "secret"
	}
	return string(b)
}
