package redact

import (
	"regexp"
)

// Kinds of the built-in content detectors, as they appear in markers.
const (
	KindAWSAccessKey    = "aws_access_key_id"
	KindAWSSecretKey    = "aws_secret_key"
	KindGCPAPIKey       = "gcp_api_key"
	KindAzureStorageKey = "azure_storage_key"
	KindGitHubToken     = "github_token"
	KindGitLabToken     = "gitlab_token"
	KindSlackToken      = "slack_token"
	KindSlackWebhook    = "slack_webhook"
	KindStripeKey       = "stripe_key"
	KindAnthropicAPIKey = "anthropic_api_key"
	KindOpenAIAPIKey    = "openai_api_key"
	KindPrivateKey      = "private_key"
	KindJWT             = "jwt"
	KindURLPassword     = "url_password"
	KindBearerToken     = "bearer_token"
)

// detector finds secrets inside a string value. When re has a capturing
// group, only the first group is the secret (the rest is context);
// otherwise the whole match is.
type detector struct {
	kind string
	re   *regexp.Regexp
	// lits are literals one of which occurs in every match; the prefilter
	// runs re only on strings holding one of them. Empty: always run.
	lits []string
	// anchored detectors (the built-in ones) start every match with one of
	// lits: re is tried only where a literal starts, anchored there, which
	// keeps scanning long text cheap.
	anchored bool
	// left, when set, must accept the byte before the literal (0 at the
	// start of the string); it stands in for a leading \b.
	left func(prev byte) bool
	// valid, when set, must accept the secret for it to count.
	valid func(secret []byte) bool
}

// builtin makes an anchored detector from an expression that starts with
// one of lits.
func builtin(kind, expr string, lits []string, left func(byte) bool, valid func([]byte) bool) detector {
	return detector{
		kind:     kind,
		re:       regexp.MustCompile(`\A(?:` + expr + `)`),
		lits:     lits,
		anchored: true,
		left:     left,
		valid:    valid,
	}
}

// wordStart accepts a literal that does not continue a word (\b).
func wordStart(prev byte) bool { return !isWord(prev) }

func isWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// builtinDetectors are tried in this order; when two matches overlap, the
// one starting first wins, then the longer one, then the earlier detector.
var builtinDetectors = []detector{
	builtin(KindPrivateKey,
		`-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\z)`,
		[]string{"-----BEGIN"}, nil, nil),
	builtin(KindJWT,
		`eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`,
		[]string{"eyJ"}, wordStart, nil),
	builtin(KindAWSAccessKey,
		`(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA)[A-Z0-9]{16}\b`,
		[]string{"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "APKA", "AROA"}, wordStart, nil),
	// A 40-character secret access key only counts next to a name that
	// says it is one ("aws_secret_access_key = ..."); a git commit hash
	// (lower-case hex) is not taken for one.
	builtin(KindAWSSecretKey,
		`(?i)aws[a-z0-9_. -]{0,30}?(?:secret|sk)[a-z0-9_. -]{0,20}?["']?\s*[:=]\s*["']?([a-z0-9/+]{40})(?:[^a-z0-9/+=]|\z)`,
		[]string{"aws", "AWS", "Aws"}, nil, mixedCase),
	builtin(KindGCPAPIKey,
		`AIza[0-9A-Za-z_-]{35}`,
		[]string{"AIza"}, wordStart, nil),
	builtin(KindAzureStorageKey,
		`AccountKey\s*=\s*([A-Za-z0-9+/]{20,}={0,2})`,
		[]string{"AccountKey"}, nil, nil),
	builtin(KindGitHubToken,
		`(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})`,
		[]string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"}, wordStart, nil),
	builtin(KindGitLabToken,
		`glpat-[A-Za-z0-9_-]{20,}`,
		[]string{"glpat-"}, wordStart, nil),
	builtin(KindSlackWebhook,
		`hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9_/+-]{8,})`,
		[]string{"hooks.slack.com/"}, nil, nil),
	builtin(KindSlackToken,
		`(?:xox[abprs]-[A-Za-z0-9-]{10,}|xapp-[0-9]+-[A-Za-z0-9-]{10,})`,
		[]string{"xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-", "xapp-"}, wordStart, nil),
	builtin(KindStripeKey,
		`[rs]k_live_[A-Za-z0-9]{16,}`,
		[]string{"sk_live_", "rk_live_"}, wordStart, nil),
	builtin(KindAnthropicAPIKey,
		`sk-ant-[A-Za-z0-9_-]{20,}`,
		[]string{"sk-ant-"}, wordStart, mixedCase),
	// Random keys mix digits and both cases; a long hyphenated slug
	// starting with "sk-" does not.
	builtin(KindOpenAIAPIKey,
		`sk-[A-Za-z0-9_-]{20,}`,
		[]string{"sk-"}, wordStart, func(s []byte) bool { return mixedCase(s) && hasDigit(s) }),
	// Only the password of scheme://user:password@host.
	builtin(KindURLPassword,
		`://[^\s/:@"'<>]*:([^\s/@"'<>]+)@[^\s/@"'<>]`,
		[]string{"://"}, func(prev byte) bool { return isWord(prev) }, nil),
	// "Bearer <token>": prose such as "a Bearer token" has no digits.
	builtin(KindBearerToken,
		`(?:Bearer|bearer|BEARER)\s+([A-Za-z0-9._~+/-]+=*)`,
		[]string{"Bearer", "bearer", "BEARER"}, wordStart,
		func(s []byte) bool { return len(s) >= 12 && hasDigit(s) && hasLetter(s) }),
}

func mixedCase(s []byte) bool {
	var upper, lower bool
	for _, c := range s {
		upper = upper || 'A' <= c && c <= 'Z'
		lower = lower || 'a' <= c && c <= 'z'
	}
	return upper && lower
}

func hasDigit(s []byte) bool {
	for _, c := range s {
		if '0' <= c && c <= '9' {
			return true
		}
	}
	return false
}

func hasLetter(s []byte) bool {
	for _, c := range s {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' {
			return true
		}
	}
	return false
}
