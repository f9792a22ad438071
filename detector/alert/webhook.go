package alert

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/go-json-experiment/json"
)

// DeliveryHeader carries a webhook body's id: the same alerts sent again
// (a retry) carry the same id.
const DeliveryHeader = "X-Mcptrail-Delivery"

// WebhookVersion is the version of the webhook body's format.
const WebhookVersion = 1

// WebhookConfig sets up a Webhook.
type WebhookConfig struct {
	// URL receives the POSTs.
	URL string
	// Secret keys the HMAC signature; required (at least 16 bytes).
	Secret []byte
	// Client sends the requests; nil means a client with DefaultTimeout.
	Client *http.Client
	// Header is added to every request (for example Authorization).
	Header http.Header
	// Retry is the retry policy (zero: the defaults).
	Retry Retry
}

// WebhookBody is the JSON body a Webhook POSTs.
type WebhookBody struct {
	// Version is WebhookVersion.
	Version int `json:"version"`
	// Source is "mcptrail".
	Source string `json:"source"`
	// Alerts are the incidents, most severe first.
	Alerts []Alert `json:"alerts"`
}

// Webhook is an Output that POSTs alerts as one signed JSON document
// (WebhookBody) per Send. See Sign for the signature scheme.
type Webhook struct {
	p *poster
}

// minSecret is the shortest webhook secret accepted.
const minSecret = 16

// NewWebhook returns a Webhook output.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if len(cfg.Secret) < minSecret {
		return nil, fmt.Errorf("alert: webhook secret: %d bytes, want at least %d", len(cfg.Secret), minSecret)
	}
	p, err := newPoster("webhook", cfg.URL, cfg.Client, cfg.Header, cfg.Retry)
	if err != nil {
		return nil, err
	}
	secret := append([]byte(nil), cfg.Secret...)
	p.sign = func(req *http.Request, body []byte, now time.Time) {
		ts := now.Unix()
		req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
		req.Header.Set(SignatureHeader, Sign(secret, ts, body))
	}
	return &Webhook{p: p}, nil
}

// Name returns "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Send POSTs alerts as one WebhookBody, retrying on 5xx, 429 and network
// errors; every attempt is signed with the time it is made.
func (w *Webhook) Send(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	body, err := json.Marshal(WebhookBody{Version: WebhookVersion, Source: "mcptrail", Alerts: alerts})
	if err != nil {
		return fmt.Errorf("webhook: encode %d alerts: %w", len(alerts), err)
	}
	p := *w.p
	sign := p.sign
	id := deliveryID(body)
	p.sign = func(req *http.Request, body []byte, now time.Time) {
		req.Header.Set(DeliveryHeader, id)
		sign(req, body, now)
	}
	if err := p.post(ctx, body); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	return nil
}

// deliveryID is the hex xxhash64 of a body.
func deliveryID(body []byte) string {
	return fmt.Sprintf("%016x", xxhash.Sum64(body))
}

// IsPermanent reports whether err is an HTTP status that retrying will not
// fix (4xx other than 429), such as a wrong URL or a rejected signature.
func IsPermanent(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && !he.Temporary()
}
