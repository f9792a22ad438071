// Package sse parses a Server-Sent Events stream incrementally, following
// the WHATWG HTML "event stream interpretation" rules, so that a proxy can
// pass the stream's bytes through untouched while it parses a copy.
//
// It serves both MCP HTTP transports: Streamable HTTP responses of type
// text/event-stream, whose data fields carry JSON-RPC messages, and the
// older HTTP+SSE transport with its "endpoint" event.
//
// Deviations from the browser algorithm, all deliberate for auditing:
// bytes are not decoded, so invalid UTF-8 reaches [Event] as it was sent
// instead of as U+FFFD; and events bigger than [Options.MaxEvent] are
// reported with ErrEventTooLarge instead of being buffered.
package sse
