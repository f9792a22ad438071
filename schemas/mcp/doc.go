// Package mcp is the MCP method taxonomy and the JSON-RPC 2.0 envelope in
// one place: which methods exist, which feature each belongs to, who sends
// it, whether it is a request or a notification, and how a raw message (or
// batch) splits into requests, notifications, results and errors.
package mcp
