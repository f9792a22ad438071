// Package alert turns the detector's findings into alerts: it groups them
// into incidents (Notifier) and delivers each incident to outputs
// (Alertmanager, a signed JSON webhook, Slack).
//
// # Incidents
//
// An incident is every finding of one MCP session at or above the minimum
// severity (default high), deduplicated by Finding.ID. Its alert carries the
// highest severity, the title and rule of the first finding at that
// severity, all rule ids and call ids, the first and last finding times, the
// count of distinct findings, and a link built from a URL template with the
// session id (see Linker). An incident is sent to each output once when it
// opens and again when its severity rises; Alertmanager also gets open
// incidents re-posted every minute, as it expects of its clients. An
// incident with no new finding for the TTL (default one hour) is closed and
// forgotten; at most MaxIncidents (default 10,000) are kept.
//
// # Webhook signatures
//
// A Webhook POSTs a JSON WebhookBody with these headers:
//
//	Content-Type: application/json
//	X-Mcptrail-Timestamp: 1767225600          (Unix seconds when this attempt was made)
//	X-Mcptrail-Signature: sha256=<hex>        (HMAC-SHA256 of "<timestamp>.<body>" with the secret)
//	X-Mcptrail-Delivery: <16 hex digits>      (xxhash64 of the body; equal on retries)
//
// The MAC input is the timestamp's decimal digits exactly as sent, one
// ASCII period, and the raw body bytes. A receiver recomputes it with the
// shared secret, compares in constant time, rejects a timestamp more than
// five minutes from its clock (so a captured request cannot be replayed
// later), and may drop a delivery id it has already seen. Verify does all
// of this but the last.
//
// # Retries
//
// All three outputs retry a POST that failed with a network error, a 5xx
// status or 429 (honouring Retry-After), with exponential backoff; any
// other non-2xx status fails at once with an *HTTPError (IsPermanent). A
// failed Send is retried by the Notifier at its next Refresh. Errors name
// only a URL's scheme and host, never its path, where Slack keeps its
// webhook secret.
package alert
