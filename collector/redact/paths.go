package redact

import (
	"errors"
	"fmt"
	"strings"
)

// EscapeSegment writes one member name as a path segment: '.', '*' and '\'
// are escaped with a backslash so that "a.b" as one name reads "a\.b".
// Array indexes are written as decimal numbers.
func EscapeSegment(name string) string {
	if !strings.ContainsAny(name, `.*\`) {
		return name
	}
	return string(appendSegment(nil, []byte(name)))
}

func appendSegment(dst, name []byte) []byte {
	for _, c := range name {
		if c == '.' || c == '*' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return dst
}

// needsEscape reports whether a member name must be escaped in a path.
func needsEscape(name []byte) bool {
	for _, c := range name {
		if c == '.' || c == '*' || c == '\\' {
			return true
		}
	}
	return false
}

// SplitPath splits a path into its segments, unescaped. It fails on a
// trailing backslash.
func SplitPath(path string) ([]string, error) {
	var segs []string
	var cur []byte
	for i := 0; i < len(path); i++ {
		switch c := path[i]; c {
		case '\\':
			if i+1 == len(path) {
				return nil, errors.New("path ends in a lone backslash")
			}
			i++
			cur = append(cur, path[i])
		case '.':
			segs = append(segs, string(cur))
			cur = cur[:0]
		default:
			cur = append(cur, c)
		}
	}
	return append(segs, string(cur)), nil
}

// rawPattern is a RawPaths entry: escaped segments, "*" being a wildcard
// for one segment.
type rawPattern []string

func parseRawPattern(p string) (rawPattern, error) {
	if p == "" {
		return nil, errors.New("empty path")
	}
	var segs rawPattern
	var cur []byte
	wild := false // cur is an unescaped "*"
	flush := func() error {
		switch {
		case wild && len(cur) == 1:
			segs = append(segs, "*")
		case wild:
			return errors.New(`"*" must be a whole segment`)
		default:
			segs = append(segs, string(cur))
		}
		cur, wild = nil, false
		return nil
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '\\':
			if i+1 == len(p) {
				return nil, errors.New("path ends in a lone backslash")
			}
			i++
			cur = appendSegment(cur, []byte{p[i]})
		case '.':
			if err := flush(); err != nil {
				return nil, err
			}
		case '*':
			wild = true
			cur = append(cur, c)
		default:
			cur = append(cur, c)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return segs, nil
}

func parseRawPatterns(paths []string) ([]rawPattern, error) {
	var out []rawPattern
	for i, p := range paths {
		rp, err := parseRawPattern(p)
		if err != nil {
			return nil, fmt.Errorf("raw path %d %q: %w", i, p, err)
		}
		out = append(out, rp)
	}
	return out, nil
}

// pathState is the path of the value being read: the escaped path in buf
// and where each segment starts.
type pathState struct {
	buf  []byte
	segs []int // start of each segment in buf
}

func (p *pathState) reset(prefix string) {
	p.buf = append(p.buf[:0], prefix...)
	p.segs = p.segs[:0]
	if prefix == "" {
		return
	}
	p.segs = append(p.segs, 0)
	for i := 0; i < len(prefix); i++ {
		switch prefix[i] {
		case '\\':
			i++
		case '.':
			p.segs = append(p.segs, i+1)
		}
	}
}

// depth is the number of segments.
func (p *pathState) depth() int { return len(p.segs) }

// truncate drops segments from depth d on.
func (p *pathState) truncate(d int) {
	if d >= len(p.segs) {
		return
	}
	end := p.segs[d]
	if d > 0 {
		end-- // the dot before the segment
	}
	p.buf = p.buf[:end]
	p.segs = p.segs[:d]
}

// pushName appends a member name segment.
func (p *pathState) pushName(name []byte) {
	p.startSeg()
	if needsEscape(name) {
		p.buf = appendSegment(p.buf, name)
	} else {
		p.buf = append(p.buf, name...)
	}
}

// pushIndex appends an array index segment.
func (p *pathState) pushIndex(i int) {
	p.startSeg()
	p.buf = appendInt(p.buf, i)
}

func (p *pathState) startSeg() {
	if len(p.segs) > 0 {
		p.buf = append(p.buf, '.')
	}
	p.segs = append(p.segs, len(p.buf))
}

func (p *pathState) seg(i int) []byte {
	end := len(p.buf)
	if i+1 < len(p.segs) {
		end = p.segs[i+1] - 1
	}
	return p.buf[p.segs[i]:end]
}

// matches reports whether the current path is one of the patterns.
func (p *pathState) matches(pats []rawPattern) bool {
next:
	for _, pat := range pats {
		if len(pat) != len(p.segs) {
			continue
		}
		for i, s := range pat {
			if s != "*" && s != string(p.seg(i)) {
				continue next
			}
		}
		return true
	}
	return false
}

func appendInt(dst []byte, i int) []byte {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	return append(dst, b[n:]...)
}
