// Package proxy is the HTTP side of the collector: a reverse proxy in
// front of one upstream MCP server that relays Streamable HTTP (MCP
// 2025-06-18 / 2025-11-25) and the older HTTP+SSE transport (2024-11-05)
// byte for byte, while it records every JSON-RPC message, the HTTP facts
// of each exchange, bearer token fingerprints and OAuth discovery events
// through a capture.Recorder.
//
// # Relaying
//
// The proxy is a net/http/httputil.ReverseProxy with FlushInterval -1, so
// every chunk read from the upstream is written and flushed to the client
// at once; nothing waits for a body to end. Paths and queries are passed
// verbatim: only the scheme and host change to the upstream's (so the
// client uses the proxy's address with the upstream's paths, such as
// /mcp, /sse or /.well-known/...). Bodies are relayed unchanged in both
// directions, with one exception: in the old HTTP+SSE transport, when the
// first "endpoint" event of a GET stream holds an absolute URL on the
// upstream's host, its scheme and host are rewritten to the proxy's own so
// that the client keeps posting through the proxy. Accept-Encoding is
// removed from forwarded requests so that bodies arrive uncompressed and
// can be read for capture.
//
// # Capture on copies
//
// Request bodies are teed as the upstream reads them (a bounded copy,
// Config.MaxBodyBytes); response bytes are copied by a wrapper of the
// http.ResponseWriter after they have been written and flushed to the
// client, then parsed (JSON-RPC bodies whole, text/event-stream through
// an incremental SSE parser, one record per event). A capture problem is
// logged, never returned to the traffic, and the raw Authorization header,
// cookies and query strings are never recorded or logged.
//
// # Sessions
//
// A record's session is the exchange's Mcp-Session-Id request header.
// When there is none yet (the initialize POST), the exchange's records
// wait in a small per-exchange queue until the response headers arrive
// and carry the session the server assigned; the initialize request and
// its response thus share it. For the old HTTP+SSE transport the session
// is read from the endpoint URL's sessionId (or session_id) query
// parameter when the endpoint event arrives, and later POSTs to that
// endpoint use it. Exchanges that belong to no MCP session (OAuth
// discovery, a 401 before initialize) get a collector-made id per client
// address.
package proxy
