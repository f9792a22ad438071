package proxy

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/mcptrail/mcptrail/collector/capture"
	"github.com/mcptrail/mcptrail/collector/token"
)

// DefaultMaxBodyBytes is the default of Config.MaxBodyBytes: 64 MiB.
const DefaultMaxBodyBytes = 64 << 20

// maxMetadataBytes bounds what is kept of an OAuth metadata document.
const maxMetadataBytes = 1 << 20

// Config configures a Proxy.
type Config struct {
	// Upstream is the MCP server's URL, such as http://127.0.0.1:3001/mcp.
	// Its scheme and host receive the traffic; its path only documents
	// the MCP endpoint (request paths are forwarded verbatim).
	Upstream string
	// ServerName names the MCP server in log lines. Required.
	ServerName string
	// Recorder receives the capture records; nil relays without capture.
	Recorder *capture.Recorder
	// SiteKey keys the bearer token fingerprints (see package token);
	// required with a Recorder, at least token.MinKeySize bytes.
	SiteKey []byte
	// MaxBodyBytes bounds the copy of one body (or one SSE event) kept for
	// capture; a bigger one is relayed whole but recorded as a parse error
	// with its size. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives warnings, never secrets; nil means slog.Default().
	Logger *slog.Logger
	// Transport carries requests to the upstream; nil means a clone of
	// http.DefaultTransport without transparent compression.
	Transport http.RoundTripper
}

// check validates cfg, fills the defaults and returns the upstream URL.
func (cfg *Config) check() (*url.URL, error) {
	if cfg.ServerName == "" {
		return nil, fmt.Errorf("proxy: the server needs a name")
	}
	up, err := url.Parse(cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("proxy: upstream URL: %w", err)
	}
	if (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		return nil, fmt.Errorf("proxy: upstream URL %q must be absolute http or https", up.Redacted())
	}
	if cfg.Recorder != nil && len(cfg.SiteKey) < token.MinKeySize {
		return nil, fmt.Errorf("proxy: the site key must be at least %d bytes", token.MinKeySize)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DisableCompression = true
		t.MaxIdleConnsPerHost = 64
		t.IdleConnTimeout = 90 * time.Second
		cfg.Transport = t
	}
	return up, nil
}
