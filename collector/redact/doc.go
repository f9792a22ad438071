// Package redact removes secrets from a JSON-RPC message before its capture
// record leaves the host.
//
// A [Redactor] walks one JSON value, looks at every string value with a set
// of detectors (cloud and SaaS credentials, private key blocks, JWTs, URL
// passwords, bearer tokens, and the string values of object members whose
// name means a secret) and replaces each secret with a marker
//
//	[REDACTED:<kind>:<hash>]
//
// where hash is the first 12 hex digits of HMAC-SHA256(site key, secret):
// the same secret gives the same marker, so redacted records stay
// correlatable, while the secret itself cannot be recovered and markers from
// sites with different keys do not match.
//
// Only the replaced strings change; every other byte of the message is kept
// as it was (member order, numbers, white space). [Redactor.Redact] reports
// the JSON paths of the strings it changed in the capture format's style
// ("msg.params.arguments.password", "msg.result.content.0.text"); see
// [EscapeSegment] for how member names with dots are written. Markers are
// never redacted again, so redacting twice changes nothing.
package redact
