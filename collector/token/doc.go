// Package token learns what it can about OAuth bearer tokens without ever
// keeping them: a keyed fingerprint (HMAC-SHA256 with a per-site secret
// key, so that the same token gives the same fingerprint on every host of
// a site but cannot be brute-forced offline without the key) and, for a
// JWT, its unverified claims.
//
// The raw token never leaves this package: it is not returned, logged or
// put into an error message.
package token
