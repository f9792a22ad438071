package proxy

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// Proxy is a capturing reverse proxy in front of one MCP server. It is an
// http.Handler, safe for concurrent use.
type Proxy struct {
	cfg      Config
	upstream *url.URL
	rp       *httputil.ReverseProxy
	log      *slog.Logger
	salt     [16]byte // keys the per-client-address fallback session ids
	legacy   endpointTable
}

// New returns a Proxy for cfg.
func New(cfg Config) (*Proxy, error) {
	up, err := cfg.check()
	if err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, upstream: up, log: cfg.Logger.With("server", cfg.ServerName)}
	_, _ = rand.Read(p.salt[:])
	p.legacy.init()
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      cfg.Transport,
		FlushInterval:  -1,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
	}
	return p, nil
}

// ServeHTTP relays one exchange to the upstream and captures it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.cfg.Recorder == nil {
		p.rp.ServeHTTP(w, r)
		return
	}
	x := p.newExchange(r)
	r = r.WithContext(context.WithValue(r.Context(), exchangeKey{}, x))
	if x.teeRequest && r.Body != nil && r.Body != http.NoBody {
		x.body = &teeBody{rc: r.Body, x: x, max: p.cfg.MaxBodyBytes, want: r.ContentLength}
		r.Body = x.body
	}
	cw := &captureWriter{w: w, x: x}
	// ReverseProxy panics with http.ErrAbortHandler when the client goes
	// away mid-body: finish still runs, and the panic goes on.
	defer x.finish(cw)
	p.rp.ServeHTTP(cw, r)
}

// rewrite points the outbound request at the upstream, keeping the path
// and query.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = p.upstream.Scheme
	pr.Out.URL.Host = p.upstream.Host
	pr.Out.Host = ""
	pr.SetXForwarded()
	// Uncompressed bodies can be read for capture.
	pr.Out.Header.Del("Accept-Encoding")
}

// modifyResponse sees the upstream's response headers before the body is
// relayed.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	if x, ok := resp.Request.Context().Value(exchangeKey{}).(*exchange); ok {
		x.onResponse(resp)
	}
	return nil
}

// errorHandler answers 502 when the upstream cannot be reached, logging
// the cause without the URL (whose query may hold secrets).
func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		p.log.Debug("proxy: client went away", "method", r.Method, "path", r.URL.Path)
	} else {
		p.log.Warn("proxy: upstream request failed", "method", r.Method, "path", r.URL.Path, "err", safeErr(err))
	}
	if x, ok := r.Context().Value(exchangeKey{}).(*exchange); ok {
		x.onError(http.StatusBadGateway)
	}
	w.WriteHeader(http.StatusBadGateway)
}

// safeErr describes err without a URL.
func safeErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + safeErr(ue.Err)
	}
	return err.Error()
}

// exchangeKey keys the exchange in a request's context.
type exchangeKey struct{}
