package schemas

import (
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// FormatVersion is the capture format version this package reads and writes.
const FormatVersion = 1

// Record is one line of a capture file: one MCP message, HTTP exchange or
// OAuth event as a collector saw it.
type Record struct {
	// V is the capture format version, always FormatVersion.
	V int `json:"v"`
	// TS is the capture time (RFC 3339, UTC, with fraction).
	TS time.Time `json:"ts"`
	// Host is the machine the collector runs on.
	Host string `json:"host"`
	// Session identifies one MCP session: the Mcp-Session-Id for HTTP
	// transports, a collector-made id per stdio server process otherwise.
	Session string `json:"session"`
	// Client is the clientInfo from initialize, once seen.
	Client *Peer `json:"client,omitzero"`
	// Server names the MCP server and what actually ran.
	Server Server `json:"server"`
	// Transport is how client and server talk.
	Transport Transport `json:"transport"`
	// Dir is the direction of the message.
	Dir Direction `json:"dir"`
	// Msg is the JSON-RPC 2.0 message (or batch) exactly as seen.
	Msg jsontext.Value `json:"msg,omitzero"`
	// HTTP holds the HTTP exchange facts for HTTP transports.
	HTTP *HTTPExchange `json:"http,omitzero"`
	// Token is what the collector learned about a bearer token, never the
	// token itself.
	Token *Token `json:"token,omitzero"`
	// Auth is an OAuth event seen by the collector.
	Auth *AuthEvent `json:"auth,omitzero"`
	// ParseError stands in for Msg when the collector relayed a line that
	// is not JSON: what was wrong, its size and a short redacted excerpt.
	ParseError *ParseError `json:"parse_error,omitzero"`
	// Redacted lists the paths the collector redacted before the record
	// left the host, such as "msg.params.arguments.password".
	Redacted []string `json:"redacted,omitzero"`
	// Stream identifies the collector stream the record belongs to (one per
	// collector process); Seq numbers the stream's records from 1 and Chain
	// links each to the one before it (see Sealer), so that a deleted,
	// inserted or edited record is detectable downstream.
	Stream string `json:"stream,omitzero"`
	Seq    uint64 `json:"seq,omitzero"`
	Chain  string `json:"chain,omitzero"`
	// Unknown keeps members this version does not know, for forward
	// compatibility; they are written back unchanged.
	Unknown jsontext.Value `json:",embed"`
}

// ParseError describes a line a collector relayed but could not read as a
// JSON-RPC message.
type ParseError struct {
	Reason  string `json:"reason"`
	Bytes   int    `json:"bytes"`
	Excerpt string `json:"excerpt,omitzero"`
}

// Peer is the name and version an MCP client or server reports.
type Peer struct {
	Name    string `json:"name"`
	Version string `json:"version,omitzero"`
}

// Server is the MCP server of a record: its reported name and version and
// what actually ran (a command for stdio, a URL for HTTP transports).
type Server struct {
	Name    string `json:"name"`
	Version string `json:"version,omitzero"`
	Command string `json:"command,omitzero"`
	URL     string `json:"url,omitzero"`
}

// HTTPExchange holds the facts of one HTTP exchange. It never carries the
// raw Authorization header.
type HTTPExchange struct {
	Method     string            `json:"method,omitzero"`
	Path       string            `json:"path,omitzero"`
	Status     int               `json:"status,omitzero"`
	Headers    map[string]string `json:"headers,omitzero"`
	RemoteAddr string            `json:"remote_addr,omitzero"`
}

// TokenKind tells a JWT from an opaque bearer token.
type TokenKind string

// Token kinds.
const (
	TokenJWT    TokenKind = "jwt"
	TokenOpaque TokenKind = "opaque"
)

// Token is what a collector learned about a bearer token: a keyed
// fingerprint (HMAC-SHA256 with a site key, hex) and, for a JWT, its
// unverified claims.
type Token struct {
	FP       string    `json:"fp"`
	Kind     TokenKind `json:"kind,omitzero"`
	Iss      string    `json:"iss,omitzero"`
	Aud      Audience  `json:"aud,omitzero"`
	Sub      string    `json:"sub,omitzero"`
	ClientID string    `json:"client_id,omitzero"`
	Azp      string    `json:"azp,omitzero"`
	Scope    string    `json:"scope,omitzero"`
	Exp      int64     `json:"exp,omitzero"`
	Iat      int64     `json:"iat,omitzero"`
	Jti      string    `json:"jti,omitzero"`
}

// AuthEventType is the kind of OAuth event a collector saw.
type AuthEventType string

// OAuth event types.
const (
	AuthAuthorizationRequest AuthEventType = "authorization_request"
	AuthTokenRequest         AuthEventType = "token_request"
	AuthTokenResponse        AuthEventType = "token_response"
	AuthMetadata             AuthEventType = "metadata"
	AuthRegistration         AuthEventType = "registration"
)

// AuthEvent is an OAuth event seen by the collector.
type AuthEvent struct {
	Type                AuthEventType `json:"type"`
	Resource            string        `json:"resource,omitzero"`
	CodeChallengeMethod string        `json:"code_challenge_method,omitzero"`
	Scope               string        `json:"scope,omitzero"`
	RedirectURI         string        `json:"redirect_uri,omitzero"`
	Endpoint            string        `json:"endpoint,omitzero"`
	Status              int           `json:"status,omitzero"`
	Token               *Token        `json:"token,omitzero"`
}
