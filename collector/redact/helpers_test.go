package redact

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

var testKey = []byte("test-site-key-0123456789")

func newTestRedactor(t testing.TB, cfg Config) *Redactor {
	t.Helper()
	if cfg.SiteKey == nil {
		cfg.SiteKey = testKey
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

var anyMarker = regexp.MustCompile(`\[REDACTED:([a-z0-9_-]+):[0-9a-f]{12}\]`)

// node is a decoded JSON value that keeps member order and duplicates.
type node struct {
	kind    jsontext.Kind
	str     string // strings
	raw     string // numbers and literals
	names   []string
	members []*node // object members or array elements
}

func decodeTree(b []byte) (*node, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(b), jsontext.AllowDuplicateNames(true))
	n, err := decodeNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, fmt.Errorf("trailing data: %v", err)
	}
	return n, nil
}

func decodeNode(dec *jsontext.Decoder) (*node, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	n := &node{kind: tok.Kind()}
	switch tok.Kind() {
	case '"':
		n.str = tok.String()
	case '{', '[':
		end := jsontext.Kind('}')
		if n.kind == '[' {
			end = ']'
		}
		for dec.PeekKind() != end {
			if n.kind == '{' {
				name, err := dec.ReadToken()
				if err != nil {
					return nil, err
				}
				n.names = append(n.names, name.String())
			}
			m, err := decodeNode(dec)
			if err != nil {
				return nil, err
			}
			n.members = append(n.members, m)
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
	default:
		n.raw = tok.String()
	}
	return n, nil
}

// lookup finds the nodes at path (below prefix); duplicate member names
// may give several.
func lookup(root *node, prefix, path string) ([]*node, error) {
	if path == prefix {
		return []*node{root}, nil
	}
	rest := path
	if prefix != "" {
		if len(path) <= len(prefix) || path[:len(prefix)+1] != prefix+"." {
			return nil, fmt.Errorf("path %q lacks prefix %q", path, prefix)
		}
		rest = path[len(prefix)+1:]
	}
	segs, err := SplitPath(rest)
	if err != nil {
		return nil, err
	}
	cur := []*node{root}
	for _, seg := range segs {
		var next []*node
		for _, n := range cur {
			switch n.kind {
			case '{':
				for i, name := range n.names {
					if name == seg {
						next = append(next, n.members[i])
					}
				}
			case '[':
				if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.members) && strconv.Itoa(i) == seg {
					next = append(next, n.members[i])
				}
			}
		}
		cur = next
	}
	if len(cur) == 0 {
		return nil, errors.New("no such path")
	}
	return cur, nil
}

// sameExceptStrings reports where a and b differ other than in string
// values (which the caller checks separately).
func sameShape(a, b *node) error {
	if a.kind != b.kind {
		return fmt.Errorf("kind %v != %v", a.kind, b.kind)
	}
	if a.raw != b.raw || len(a.members) != len(b.members) {
		return fmt.Errorf("value %q/%d != %q/%d", a.raw, len(a.members), b.raw, len(b.members))
	}
	for i := range a.names {
		if a.names[i] != b.names[i] {
			return fmt.Errorf("name %q != %q", a.names[i], b.names[i])
		}
	}
	for i := range a.members {
		if err := sameShape(a.members[i], b.members[i]); err != nil {
			return err
		}
	}
	return nil
}

// stringsChanged lists the paths of string values that differ.
func stringsChanged(a, b *node, path string, out []string) []string {
	switch a.kind {
	case '"':
		if a.str != b.str {
			out = append(out, path)
		}
	case '{', '[':
		for i := range a.members {
			seg := strconv.Itoa(i)
			if a.kind == '{' {
				seg = EscapeSegment(a.names[i])
			}
			p := seg
			if path != "" {
				p = path + "." + seg
			}
			out = stringsChanged(a.members[i], b.members[i], p, out)
		}
	}
	return out
}

func jsonQuote(s string) (string, error) {
	b, err := jsontext.AppendQuote(nil, s)
	return string(b), err
}

func regexpMatch(expr, s string) bool { return regexp.MustCompile(expr).MatchString(s) }
