package textscan

import (
	"regexp"
	"strings"
)

// ValueKind is the kind of a concrete value found in text.
type ValueKind string

// The value kinds Values extracts.
const (
	ValueURL     ValueKind = "url"
	ValueDomain  ValueKind = "domain"
	ValueEmail   ValueKind = "email"
	ValueAccount ValueKind = "account" // IBAN-like or long letter+digit identifiers
	ValueNumber  ValueKind = "number"  // six or more digits
	ValueQuoted  ValueKind = "quoted"  // a quoted or back-quoted literal
	ValueHandle  ValueKind = "handle"  // @name
	ValuePath    ValueKind = "path"    // a file-system path
	ValueIdent   ValueKind = "ident"   // snake_case identifier: a_name, new_value
)

// Value is one concrete value: Norm is its normalized form (lower case, no
// URL scheme or "www.", no trailing punctuation), the form to compare.
type Value struct {
	Kind ValueKind
	Norm string
}

var (
	reEmail   = regexp.MustCompile(`(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b`)
	reURL     = regexp.MustCompile(`(?i)\b(?:https?://|ftp://|www\.)[^\s'"<>()\[\]{}\x60,]+`)
	reDomain  = regexp.MustCompile(`(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,12}\b(?:/[^\s'"<>()\[\]{}\x60,]*)?`)
	reAccount = regexp.MustCompile(`\b[A-Za-z0-9][A-Za-z0-9_-]{6,62}[A-Za-z0-9]\b`)
	reNumber  = regexp.MustCompile(`\b\d[\d ]{4,}\d\b`)
	reQuoted  = regexp.MustCompile("\x60([^\x60\n]{3,80})\x60|\"([^\"\n]{3,80})\"|'([^'\n]{4,80})'")
	reHandle  = regexp.MustCompile(`(?:^|\s)@([A-Za-z0-9_.-]{3,40})`)
	reIdent   = regexp.MustCompile(`\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\b`)
	rePath    = regexp.MustCompile(`(?:~|\$HOME|\.{1,2})?/(?:[\w.-]+/)*[\w.-]+`)
)

// fileExtensions end names that reDomain would otherwise take for domains.
var fileExtensions = map[string]bool{
	"txt": true, "pdf": true, "doc": true, "docx": true, "csv": true, "json": true, "md": true,
	"png": true, "jpg": true, "jpeg": true, "gif": true, "py": true, "go": true, "js": true, "ts": true,
	"yaml": true, "yml": true, "log": true, "xlsx": true, "xls": true, "pptx": true, "zip": true,
	"tar": true, "gz": true, "sh": true, "sql": true, "xml": true, "toml": true, "ini": true, "conf": true,
	"env": true, "key": true, "pem": true, "rs": true, "java": true, "rb": true, "c": true, "h": true,
}

// Values appends to dst the concrete values in s that a later tool call
// could carry: e-mail addresses, URLs and domains, account-like
// identifiers (letters and digits, at least 8 long, with a digit), runs of
// six or more digits, quoted literals, @handles, snake_case identifiers
// and file paths. Duplicates
// within s are dropped.
func Values(dst []Value, s string) []Value {
	seen := map[Value]bool{}
	add := func(k ValueKind, norm string) {
		if len(norm) < 4 {
			return
		}
		v := Value{k, norm}
		if !seen[v] {
			seen[v] = true
			dst = append(dst, v)
		}
	}
	for _, m := range reEmail.FindAllString(s, -1) {
		add(ValueEmail, strings.ToLower(m))
	}
	for _, m := range reURL.FindAllString(s, -1) {
		add(ValueURL, NormalizeURL(m))
	}
	for _, m := range reDomain.FindAllString(s, -1) {
		host := m
		if i := strings.IndexByte(host, '/'); i >= 0 {
			host = host[:i]
		}
		tld := host[strings.LastIndexByte(host, '.')+1:]
		if fileExtensions[strings.ToLower(tld)] || strings.Contains(s, "@"+host) {
			continue
		}
		add(ValueDomain, NormalizeURL(m))
	}
	for _, m := range reAccount.FindAllString(s, -1) {
		if hasDigit(m) && hasLetter(m) && !strings.Contains(m, "_") {
			add(ValueAccount, strings.ToLower(m))
		}
	}
	for _, m := range reNumber.FindAllString(s, -1) {
		add(ValueNumber, strings.ReplaceAll(m, " ", ""))
	}
	for _, m := range reQuoted.FindAllStringSubmatch(s, -1) {
		for _, g := range m[1:] {
			if g = strings.TrimSpace(g); g != "" {
				add(ValueQuoted, strings.ToLower(g))
			}
		}
	}
	for _, m := range reHandle.FindAllStringSubmatch(s, -1) {
		add(ValueHandle, strings.ToLower(m[1]))
	}
	for _, m := range reIdent.FindAllString(s, -1) {
		if len(m) >= 6 {
			add(ValueIdent, strings.ToLower(m))
		}
	}
	for _, m := range rePath.FindAllString(s, -1) {
		if strings.Count(m, "/") >= 2 || strings.HasPrefix(m, "~") {
			add(ValuePath, strings.ToLower(m))
		}
	}
	return dst
}

// NormalizeURL lower-cases u and strips its scheme, a leading "www." and
// trailing punctuation and slashes.
func NormalizeURL(u string) string {
	u = strings.ToLower(u)
	for _, p := range []string{"https://", "http://", "ftp://"} {
		u = strings.TrimPrefix(u, p)
	}
	u = strings.TrimPrefix(u, "www.")
	return strings.TrimRight(u, ".,;:!?/")
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}
