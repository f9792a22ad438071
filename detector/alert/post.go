package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The defaults of Retry.
const (
	DefaultAttempts     = 4
	DefaultInitialDelay = 500 * time.Millisecond
	DefaultMaxDelay     = 10 * time.Second
	// DefaultTimeout bounds one HTTP attempt when the output has no client.
	DefaultTimeout = 10 * time.Second
)

// errBodyLimit bounds how much of an error response is quoted.
const errBodyLimit = 512

// Retry is how an HTTP output retries a POST that failed with a network
// error, a 5xx status or 429 Too Many Requests: up to Attempts tries in all,
// waiting Initial, then twice as long each time up to Max (with jitter; a
// 429's Retry-After is honoured up to Max). Other statuses fail at once
// with an *HTTPError. Zero fields take the defaults.
type Retry struct {
	Attempts int
	Initial  time.Duration
	Max      time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = DefaultAttempts
	}
	if r.Initial <= 0 {
		r.Initial = DefaultInitialDelay
	}
	if r.Max <= 0 {
		r.Max = DefaultMaxDelay
	}
	r.Max = max(r.Max, r.Initial)
	return r
}

// HTTPError is a POST answered with a status other than 2xx.
type HTTPError struct {
	// Endpoint is the URL without its path, query and credentials (webhook
	// URLs often embed a secret in the path).
	Endpoint string
	// StatusCode is the HTTP status.
	StatusCode int
	// Body is the start of the response body.
	Body string
}

// Error describes the status and the response.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("POST %s: status %d", e.Endpoint, e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		msg += " " + t
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Temporary reports whether retrying may help (5xx and 429).
func (e *HTTPError) Temporary() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests
}

// poster POSTs JSON bodies to one URL with retries.
type poster struct {
	client   *http.Client
	url      string
	endpoint string // url without path and credentials, for messages
	header   http.Header
	retry    Retry
	// sign, if set, adds headers to each attempt's request.
	sign func(req *http.Request, body []byte, now time.Time)
	now  func() time.Time
}

// newPoster checks rawURL (absolute http or https) and sets the defaults.
func newPoster(what, rawURL string, client *http.Client, header http.Header, retry Retry) (*poster, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Parse errors quote the URL, which may hold a secret.
		return nil, fmt.Errorf("alert: %s URL: want an absolute http:// or https:// URL", what)
	}
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	return &poster{
		client:   client,
		url:      rawURL,
		endpoint: u.Scheme + "://" + u.Host,
		header:   header.Clone(),
		retry:    retry.withDefaults(),
		now:      time.Now,
	}, nil
}

// post sends body, retrying as p.retry says.
func (p *poster) post(ctx context.Context, body []byte) error {
	delay := p.retry.Initial
	var last error
	for attempt := 1; ; attempt++ {
		wait, err := p.once(ctx, body)
		if err == nil {
			return nil
		}
		last = err
		var he *HTTPError
		if errors.As(err, &he) && !he.Temporary() {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (after %d attempts)", last, attempt)
		}
		if attempt >= p.retry.Attempts {
			return fmt.Errorf("%w (gave up after %d attempts)", last, attempt)
		}
		if wait <= 0 {
			wait = delay/2 + rand.N(delay/2+1)
			delay = min(2*delay, p.retry.Max)
		}
		t := time.NewTimer(min(wait, p.retry.Max))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after %d attempts; %w)", last, attempt, ctx.Err())
		case <-t.C:
		}
	}
}

// once makes one attempt. wait is the server's Retry-After, if any.
func (p *poster) once(ctx context.Context, body []byte) (wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("POST %s: %w", p.endpoint, err)
	}
	for k, vs := range p.header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mcptrail-alert")
	if p.sign != nil {
		p.sign(req, body, p.now())
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST %s: %w", p.endpoint, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
		return 0, nil
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, errBodyLimit))
	if resp.StatusCode == http.StatusTooManyRequests {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
	}
	return wait, &HTTPError{
		Endpoint:   p.endpoint,
		StatusCode: resp.StatusCode,
		Body:       strings.TrimSpace(strings.ToValidUTF8(string(excerpt), "?")),
	}
}

// unwrapURLError returns the cause of a *url.Error, which quotes the full
// URL, so that a secret in a webhook's path never reaches a log.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
