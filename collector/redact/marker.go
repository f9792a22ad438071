package redact

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
)

// HashLen is the number of hex digits of the keyed hash in a marker.
const HashLen = 12

// markerOpen starts every marker.
const markerOpen = "[REDACTED:"

// markerRe matches one marker: a kind and a keyed hash.
var markerRe = regexp.MustCompile(`\[REDACTED:[a-z0-9_-]+:[0-9a-f]{12}\]`)

// kindRe is what a detector kind may look like, so that markers stay
// parseable.
var kindRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// appendMarker appends the marker of secret, found by a detector of the
// given kind, to dst.
func appendMarker(dst []byte, key []byte, kind string, secret []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(secret)
	var sum [sha256.Size]byte
	full := mac.Sum(sum[:0])
	dst = append(dst, markerOpen...)
	dst = append(dst, kind...)
	dst = append(dst, ':')
	var h [HashLen]byte
	hex.Encode(h[:], full[:HashLen/2])
	dst = append(dst, h[:]...)
	return append(dst, ']')
}

// IsMarker reports whether s is exactly one redaction marker.
func IsMarker(s []byte) bool {
	if len(s) < len(markerOpen)+HashLen+3 || !bytes.HasPrefix(s, []byte(markerOpen)) || s[len(s)-1] != ']' {
		return false
	}
	loc := markerRe.FindIndex(s)
	return loc != nil && loc[0] == 0 && loc[1] == len(s)
}

// markerSpans returns where markers are in s, appended to dst.
func markerSpans(dst [][2]int, s []byte) [][2]int {
	if !bytes.Contains(s, []byte(markerOpen)) {
		return dst
	}
	for _, loc := range markerRe.FindAllIndex(s, -1) {
		dst = append(dst, [2]int{loc[0], loc[1]})
	}
	return dst
}
