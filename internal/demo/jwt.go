package demo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// accessToken is the claims of a bearer token the demo's authorization
// server (none runs: the demo signs the tokens itself) issues to the agent
// for one MCP server, as RFC 9068 access tokens carry them.
type accessToken struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	IssuedAt int64  `json:"iat"`
	Expires  int64  `json:"exp"`
	ID       string `json:"jti"`
}

// Claims of the demo's tokens.
const (
	tokenIssuer   = "https://login.example.com/"
	tokenSubject  = "dev@example.com"
	tokenClientID = "demo-agent"
	tokenScope    = "mcp:tools"
	tokenLifetime = time.Hour
)

// newAccessToken returns claims for a token valid for an hour from now,
// for the MCP server whose resource (its URL) is audience.
func newAccessToken(audience string, now time.Time) accessToken {
	return accessToken{
		Issuer: tokenIssuer, Subject: tokenSubject, Audience: audience,
		ClientID: tokenClientID, Scope: tokenScope,
		IssuedAt: now.Unix(), Expires: now.Add(tokenLifetime).Unix(),
		ID: randomString(16, "0123456789abcdef"),
	}
}

// sign returns the token as a JWT signed with HMAC-SHA256 under key.
func (t accessToken) sign(key []byte) (string, error) {
	claims, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("token claims: %w", err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"at+jwt"}`)) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil)), nil
}
