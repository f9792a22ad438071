package token

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/mcptrail/mcptrail/schemas"
)

// maxClaimsPart bounds the JWT parts decoded, in bytes of base64url text.
const maxClaimsPart = 64 << 10

// Bearer returns the token of an Authorization header value using the
// Bearer scheme (case-insensitive, RFC 6750 / RFC 9110), trimmed of
// surrounding spaces; ok is false for another scheme or an empty token.
func Bearer(authorization string) (tok string, ok bool) {
	s := strings.TrimLeft(authorization, " \t")
	const scheme = "bearer"
	if len(s) <= len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) || (s[len(scheme)] != ' ' && s[len(scheme)] != '\t') {
		return "", false
	}
	tok = strings.Trim(s[len(scheme):], " \t")
	return tok, tok != ""
}

// Inspect fingerprints the bearer token of an Authorization header value
// and, when it is a JWT, reads its claims without verifying them. ok is
// false when the header carries no bearer token. The result never holds
// the token itself.
func Inspect(siteKey []byte, authorizationHeader string) (*schemas.Token, bool) {
	tok, ok := Bearer(authorizationHeader)
	if !ok {
		return nil, false
	}
	t := &schemas.Token{FP: Fingerprint(siteKey, []byte(tok)), Kind: schemas.TokenOpaque}
	if claims, ok := jwtClaims(tok); ok {
		t.Kind = schemas.TokenJWT
		claims.fill(t)
	}
	return t, true
}

// jwtClaims tells whether tok is a JWS compact serialization (three
// base64url parts whose header is a JSON object with an "alg") and
// returns its payload's claims, empty when the payload is not a JSON
// object.
func jwtClaims(tok string) (claims, bool) {
	h, rest, ok := strings.Cut(tok, ".")
	if !ok {
		return claims{}, false
	}
	p, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sig, ".") || !isB64URL(sig) {
		return claims{}, false
	}
	hdr, ok := decodePart(h)
	if !ok {
		return claims{}, false
	}
	var header struct {
		Alg *string `json:"alg"`
	}
	if json.Unmarshal(hdr, &header) != nil || header.Alg == nil {
		return claims{}, false
	}
	var c claims
	if payload, ok := decodePart(p); ok {
		// A payload that is not a JSON object (or has claims of odd types)
		// still leaves a JWT; only the claims that read are kept.
		_ = json.Unmarshal(payload, &c)
	}
	return c, true
}

// decodePart decodes one base64url part (padding tolerated).
func decodePart(s string) ([]byte, bool) {
	if s == "" || len(s) > maxClaimsPart {
		return nil, false
	}
	s = strings.TrimRight(s, "=")
	b, err := base64.RawURLEncoding.DecodeString(s)
	return b, err == nil
}

func isB64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '=') {
			return false
		}
	}
	return true
}

// claims are the JWT claims a capture record keeps, each read leniently:
// a claim of an unexpected type is dropped, not an error.
type claims struct {
	Iss      jsontext.Value `json:"iss"`
	Aud      jsontext.Value `json:"aud"`
	Sub      jsontext.Value `json:"sub"`
	ClientID jsontext.Value `json:"client_id"`
	Azp      jsontext.Value `json:"azp"`
	Scope    jsontext.Value `json:"scope"`
	Scp      jsontext.Value `json:"scp"`
	Exp      jsontext.Value `json:"exp"`
	Iat      jsontext.Value `json:"iat"`
	Jti      jsontext.Value `json:"jti"`
}

func (c *claims) fill(t *schemas.Token) {
	t.Iss = str(c.Iss)
	t.Sub = str(c.Sub)
	t.ClientID = str(c.ClientID)
	t.Azp = str(c.Azp)
	t.Jti = str(c.Jti)
	t.Exp = num(c.Exp)
	t.Iat = num(c.Iat)
	if s := str(c.Aud); s != "" {
		t.Aud = schemas.Audience{s}
	} else if l := strs(c.Aud); len(l) > 0 {
		t.Aud = l
	}
	switch {
	case str(c.Scope) != "":
		t.Scope = str(c.Scope)
	case str(c.Scp) != "":
		t.Scope = str(c.Scp)
	case len(strs(c.Scope)) > 0:
		t.Scope = strings.Join(strs(c.Scope), " ")
	default:
		t.Scope = strings.Join(strs(c.Scp), " ")
	}
}

// str reads a JSON string, or "".
func str(v jsontext.Value) string {
	var s string
	if v.Kind() != '"' || json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// strs reads a JSON array of strings, skipping other elements.
func strs(v jsontext.Value) []string {
	var l []jsontext.Value
	if v.Kind() != '[' || json.Unmarshal(v, &l) != nil {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s := str(e); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// num reads a JSON number as whole seconds (RFC 7519 NumericDate may have
// a fraction), or 0.
func num(v jsontext.Value) int64 {
	if v.Kind() != '0' {
		return 0
	}
	var f float64
	if json.Unmarshal(bytes.TrimSpace(v), &f) != nil || f != f || f > 1<<62 || f < -(1<<62) {
		return 0
	}
	return int64(f)
}
