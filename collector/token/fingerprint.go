package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Fingerprint returns the keyed fingerprint of a token: HMAC-SHA256 of the
// token with the site key, in lowercase hex (64 digits).
func Fingerprint(siteKey, token []byte) string {
	m := hmac.New(sha256.New, siteKey)
	m.Write(token)
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0]))
}
