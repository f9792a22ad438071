package textscan

import (
	"strings"

	"github.com/mcptrail/mcptrail/detector/textscan/prefilter"
)

// Secret is one credential-like string found in text.
type Secret struct {
	// Kind names the format, e.g. "private_key" or "aws_access_key".
	Kind string
	// Value is the matched text.
	Value string
}

var secretPatterns = []struct {
	kind string
	expr string
}{
	{"private_key", `-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----`},
	{"aws_access_key", `\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`},
	{"github_token", `\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})\b`},
	{"slack_token", `\bxox[abpors]-[A-Za-z0-9-]{10,}\b`},
	{"api_key", `\b(?:sk|rk|pk)[-_](?:live|test|proj|ant)?[-_]?[A-Za-z0-9]{20,}\b|\bAIza[0-9A-Za-z_-]{35}\b`},
	{"jwt", `\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b`},
	{"bearer", `(?i)\bbearer\s+[A-Za-z0-9._~+/-]{20,}=*`},
	{"credential_assignment", `(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret|private[_-]?key)\b\s*[:=]\s*['"]?[^\s'"]{6,}`},
	{"connection_string", `(?i)\b(?:postgres(?:ql)?|mysql|mongodb(?:\+srv)?|redis|amqp)://[^\s:/@]+:[^\s@/]+@`},
}

// secretSet holds the secret patterns' expressions, at their indexes in
// secretPatterns.
var secretSet = func() *prefilter.Set {
	exprs := make([]string, len(secretPatterns))
	for i, p := range secretPatterns {
		exprs[i] = p.expr
	}
	return prefilter.MustCompile(exprs...)
}()

// Secrets returns the credential-like strings in s, at most one per kind.
func Secrets(s string) []Secret {
	var out []Secret
	h := secretSet.Scan(s)
	for i, p := range secretPatterns {
		if m := h.Find(i); m != "" {
			out = append(out, Secret{Kind: p.kind, Value: m})
		}
	}
	return out
}

var sensitivePath = prefilter.MustCompile(`(?i)(?:^|[\s'"\x60=:(<\[,;*/])(?:~|\$home|/home/[^/\s]+|/root|/users/[^/\s]+)?/?\.(?:ssh/(?:id_[a-z0-9]+|authorized_keys|known_hosts|config)|aws/credentials|kube/config|netrc|npmrc|pypirc|docker/config\.json|git-credentials|gnupg/|config/gcloud|env(?:\.[a-z]+)?\b)|/etc/(?:shadow|passwd|sudoers)\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\b(?:credentials|secrets?)\.(?:json|ya?ml|toml|txt)\b|\b\w+\.(?:pem|p12|pfx|key)\b`)

// pathOpeners are the characters that may open a path in text (spaces,
// quotes, back quotes, brackets, list punctuation and Markdown emphasis):
// a sensitivePath match starts with at most one of them.
const pathOpeners = " \t\n\r\f\v'\"`=:(<[,;*"

// SensitivePath returns the first reference in s to a file that holds
// credentials (SSH keys, cloud credentials, .env files, key stores), or "".
func SensitivePath(s string) string {
	m := sensitivePath.Scan(s).Find(0)
	return strings.TrimLeft(m, pathOpeners)
}

// encodedSet holds the expressions of a base64 run (0) and of a hex run
// (1).
var encodedSet = prefilter.MustCompile(`[A-Za-z0-9+/]{120,}={0,2}|[A-Za-z0-9_-]{160,}`, `\b[0-9a-fA-F]{128,}\b`)

// Encoded returns the first long base64 or hex run in s (what an agent
// smuggles data out as), or "".
func Encoded(s string) string {
	if !hasEncodedRun(s) {
		return "" // the common case, without a scan
	}
	h := encodedSet.Scan(s)
	if m := h.Find(0); m != "" && hasDigit(m) && hasLetter(m) {
		return m
	}
	return h.Find(1)
}

// minEncodedRun is the shortest run either expression of encodedSet
// matches; encodedBytes are the bytes of any of their runs.
const minEncodedRun = 120

var encodedBytes = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-") {
		t[c] = true
	}
	return t
}()

// hasEncodedRun reports whether s holds minEncodedRun consecutive
// encodedBytes: every match of encodedSet is such a run.
func hasEncodedRun(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if !encodedBytes[s[i]] {
			n = 0
			continue
		}
		if n++; n >= minEncodedRun {
			return true
		}
	}
	return false
}
