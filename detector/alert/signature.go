package alert

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The webhook's signature headers (see Sign).
const (
	SignatureHeader = "X-Mcptrail-Signature"
	TimestampHeader = "X-Mcptrail-Timestamp"
	// DefaultTolerance is how far a signed timestamp may be from the
	// receiver's clock in Verify.
	DefaultTolerance = 5 * time.Minute
)

// signaturePrefix starts the signature header's value.
const signaturePrefix = "sha256="

// Sign returns the signature header value of body sent at timestamp ts
// (Unix seconds, the X-Mcptrail-Timestamp header's decimal value):
//
//	"sha256=" + hex(HMAC-SHA256(secret, ts + "." + body))
//
// The timestamp is inside the MAC, so a captured request cannot be replayed
// later with a fresh timestamp.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	_, _ = m.Write(strconv.AppendInt(nil, ts, 10))
	_, _ = m.Write([]byte{'.'})
	_, _ = m.Write(body)
	return signaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a webhook request as a receiver would: h must carry
// X-Mcptrail-Timestamp within tolerance of now (DefaultTolerance when zero)
// and X-Mcptrail-Signature equal to Sign(secret, timestamp, body), compared
// in constant time. Receivers should also drop a repeated
// X-Mcptrail-Delivery id within the tolerance window.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	tsText := h.Get(TimestampHeader)
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("alert: verify: %s %q is not Unix seconds", TimestampHeader, tsText)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("alert: verify: %s is %v away from now, more than %v", TimestampHeader, d.Round(time.Second), tolerance)
	}
	got := h.Get(SignatureHeader)
	if !strings.HasPrefix(got, signaturePrefix) {
		return fmt.Errorf("alert: verify: %s missing or not %s<hex>", SignatureHeader, signaturePrefix)
	}
	if !hmac.Equal([]byte(got), []byte(Sign(secret, ts, body))) {
		return errors.New("alert: verify: signature mismatch")
	}
	return nil
}
