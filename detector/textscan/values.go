package textscan

import "strings"

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

// fileExtensions end names that would otherwise be taken for domains.
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
// and file paths. Duplicates within s are dropped. It scans s once, by
// hand: it runs on every tool result and argument.
func Values(dst []Value, s string) []Value {
	start := len(dst)
	var seen map[Value]bool // past 32 values, a linear search costs too much
	add := func(k ValueKind, norm string) {
		if len(norm) < 4 {
			return
		}
		v := Value{k, norm}
		if seen != nil {
			if seen[v] {
				return
			}
			seen[v] = true
		} else {
			for _, d := range dst[start:] {
				if d == v {
					return
				}
			}
			if len(dst)-start == 32 {
				seen = make(map[Value]bool, 64)
				for _, d := range dst[start:] {
					seen[d] = true
				}
				seen[v] = true
			}
		}
		dst = append(dst, v)
	}
	for i := 0; i < len(s); {
		for i < len(s) && isSeparator(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isSeparator(s[j]) {
			j++
		}
		if j > i {
			classify(s[i:j], add)
		}
		i = j
	}
	quoted(s, add)
	return dst
}

func isSeparator(c byte) bool { return separators[c] }

// separators are the bytes that end a token.
var separators = func() (t [256]bool) {
	for _, c := range []byte(" \t\n\r,;()[]{}<>\"'`|\\") {
		t[c] = true
	}
	return t
}()

// classify adds what one whitespace-delimited token is.
func classify(tok string, add func(ValueKind, string)) {
	// strings.TrimRight(tok, ".:!?*") and strings.TrimLeft(tok, ":*"),
	// without building a cutset per token.
	for len(tok) > 0 {
		if c := tok[len(tok)-1]; c != '.' && c != ':' && c != '!' && c != '?' && c != '*' {
			break
		}
		tok = tok[:len(tok)-1]
	}
	for len(tok) > 0 && (tok[0] == ':' || tok[0] == '*') {
		tok = tok[1:]
	}
	if len(tok) < 4 {
		return
	}
	switch {
	case tok[0] == '@':
		if len(tok) >= 4 {
			add(ValueHandle, lowerASCII(tok[1:]))
		}
		return
	case hasPrefixASCIIFold(tok, "http://"), hasPrefixASCIIFold(tok, "https://"), hasPrefixASCIIFold(tok, "ftp://"), hasPrefixASCIIFold(tok, "www."):
		add(ValueURL, NormalizeURL(tok))
		return
	}
	if at := strings.IndexByte(tok, '@'); at > 0 {
		if d := strings.LastIndexByte(tok, '.'); d > at+1 && d < len(tok)-2 && allLetters(tok[d+1:]) {
			add(ValueEmail, lowerASCII(tok))
		}
		return
	}
	if tok[0] == '/' || tok[0] == '~' || strings.HasPrefix(tok, "$HOME/") {
		if strings.Count(tok, "/") >= 2 || tok[0] == '~' {
			add(ValuePath, lowerASCII(strings.TrimRight(tok, "/")))
		}
		return
	}
	host := tok
	if k := strings.IndexByte(host, '/'); k > 0 {
		host = host[:k]
	}
	if d := strings.LastIndexByte(host, '.'); d > 0 && d < len(host)-2 && host[0] != '.' {
		tld := lowerASCII(host[d+1:])
		if len(tld) <= 12 && allLetters(tld) && !fileExtensions[tld] && hostChars(host) {
			add(ValueDomain, NormalizeURL(tok))
		}
		return
	}
	if relativePath(tok) || dotFileName(tok) {
		add(ValuePath, lowerASCII(strings.TrimRight(tok, "/")))
		return
	}
	digits, letters, under, other := 0, 0, 0, 0
	for k := 0; k < len(tok); k++ {
		switch c := tok[k]; {
		case c >= '0' && c <= '9':
			digits++
		case c|0x20 >= 'a' && c|0x20 <= 'z':
			letters++
		case c == '_':
			under++
		case c == '-':
		default:
			other++
		}
	}
	switch {
	case other > 0:
	case under > 0 && len(tok) >= 6 && tok[0] != '_' && tok[len(tok)-1] != '_':
		add(ValueIdent, lowerASCII(tok))
	case letters == 0 && digits >= 6 && under == 0:
		add(ValueNumber, tok)
	case digits > 0 && letters > 0 && under == 0 && len(tok) >= 8 && len(tok) <= 64:
		add(ValueAccount, lowerASCII(tok))
	}
}

// quoted adds the literals of 3 to 80 bytes, on one line, between back
// quotes or double quotes, and of 4 to 80 between single quotes.
func quoted(s string, add func(ValueKind, string)) {
	for _, q := range []byte{'`', '"', '\''} {
		minLen := 3
		if q == '\'' {
			minLen = 4
		}
		for i := 0; i < len(s); {
			a := strings.IndexByte(s[i:], q)
			if a < 0 {
				break
			}
			a += i
			b := strings.IndexByte(s[a+1:], q)
			if b < 0 {
				break
			}
			b += a + 1
			inner := strings.TrimSpace(s[a+1 : b])
			if n := len(inner); n >= minLen && n <= 80 && !strings.ContainsRune(inner, '\n') {
				add(ValueQuoted, lowerASCII(inner))
				i = b + 1
			} else {
				i = a + 1
			}
		}
	}
}

// hasPrefixASCIIFold reports whether s starts with prefix, a lower-case
// ASCII string, in any case of its ASCII letters: whether lowerASCII(s)
// starts with prefix.
func hasPrefixASCIIFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

func allLetters(s string) bool {
	for k := 0; k < len(s); k++ {
		if c := s[k] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

func hostChars(s string) bool {
	for k := 0; k < len(s); k++ {
		c := s[k]
		if !(c == '.' || c == '-' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z') {
			return false
		}
	}
	return true
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
