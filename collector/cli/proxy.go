package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mcptrail/mcptrail/collector/proxy"
	"github.com/mcptrail/mcptrail/schemas"
)

// shutdownTimeout bounds how long the proxy waits for open requests and
// streams when it stops.
const shutdownTimeout = 10 * time.Second

func newProxyCommand(getenv func(string) string) *cobra.Command {
	var o options
	var listen, upstream string
	cmd := &cobra.Command{
		Use:   "proxy --listen 127.0.0.1:PORT --upstream URL --server-name NAME [flags]",
		Short: "Reverse-proxy an HTTP MCP server and capture its traffic",
		Long: `proxy is a reverse proxy in front of one MCP server that speaks Streamable
HTTP (POST with JSON or SSE replies, GET SSE stream, DELETE, Mcp-Session-Id)
or the older HTTP+SSE transport. Point the MCP client at the proxy's address
with the upstream's path (http://127.0.0.1:PORT/mcp for an upstream
http://host:3001/mcp). Bodies and event streams are relayed as they arrive,
unchanged.

Every JSON-RPC message in either direction becomes a capture record with its
HTTP facts. A bearer token becomes a keyed fingerprint (HMAC-SHA256 with the
site key) and its unverified JWT claims; the raw token is never recorded or
logged. 401 challenges and OAuth metadata fetched through the proxy
(/.well-known/oauth-protected-resource, oauth-authorization-server,
openid-configuration) become auth records. It stops on SIGINT or SIGTERM.

With --metrics-listen host:port (off by default) the collector serves
Prometheus metrics on /metrics (mcptrail_collector_*: records captured and
dropped, spool depth, bytes and age), liveness on /healthz and readiness on
/readyz (ready once the proxy listens).`,
		Example: `  mcptrail-collector proxy --listen 127.0.0.1:3101 --upstream http://127.0.0.1:3001/mcp --server-name everything`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := o.openPipeline(cmd, getenv, schemas.TransportStreamableHTTP, schemas.Server{URL: upstream})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			defer func() {
				cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
				defer cancel()
				p.close(cctx)
			}()
			if upstream == "" {
				return &configError{errors.New("--upstream is required (the MCP server's URL)")}
			}
			h, err := proxy.New(proxy.Config{Upstream: upstream, ServerName: o.serverName, Recorder: p.rec,
				SiteKey: p.siteKey, MaxBodyBytes: int64(o.maxLine), Logger: p.log})
			if err != nil {
				return &configError{err}
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return &configError{fmt.Errorf("--listen %s: %w", listen, err)}
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			p.ready.Ready(nil)
			p.log.Info("proxy: listening", "addr", ln.Addr().String(), "upstream", upstream, "server", o.serverName, "sink", o.sink)
			select {
			case err := <-served:
				return fmt.Errorf("proxy: %w", err)
			case <-ctx.Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				p.log.Warn("proxy: open streams cut at shutdown", "err", err)
			}
			return nil
		},
	}
	o.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:3101", "host:port the proxy accepts MCP clients on")
	cmd.Flags().StringVar(&upstream, "upstream", "", "URL of the MCP server to proxy, e.g. http://127.0.0.1:3001/mcp (required)")
	return cmd
}
