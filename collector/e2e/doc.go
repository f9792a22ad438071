// Package e2e holds the collector's end-to-end tests: the real
// mcptrail-collector binary between the official Go SDK client and real
// third-party MCP servers (installed by deployments/mcp-servers/install.sh).
package e2e
