package redact

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// MinSiteKeyLen is the shortest site key New accepts.
const MinSiteKeyLen = 16

// Config configures a Redactor.
type Config struct {
	// SiteKey keys the marker hashes. It must be secret to the site and at
	// least MinSiteKeyLen bytes long.
	SiteKey []byte
	// ExtraKeys are more member names whose string values are secrets,
	// matched like the built-in ones (ASCII case and '-'/'_' ignored).
	ExtraKeys []string
	// ExtraPatterns are more content detectors.
	ExtraPatterns []Pattern
	// Disable turns redaction off: Redact only checks that the message is
	// valid JSON and returns it unchanged.
	Disable bool
	// RawPaths are paths whose values, with everything inside them, are
	// left untouched, such as "msg.params.arguments.query". A "*" segment
	// stands for any one segment; see EscapeSegment for names with dots.
	RawPaths []string
}

// Pattern is a configured content detector.
type Pattern struct {
	// Kind names what the pattern finds in markers: lower-case letters,
	// digits, '_' and '-', at most 32 characters.
	Kind string
	// Regexp is an RE2 regular expression (package regexp). When it has a
	// capturing group, only the text of the first group is replaced.
	Regexp string
}

// Redactor redacts secrets in JSON messages. It is safe for concurrent use.
type Redactor struct {
	siteKey  []byte
	dets     []detector
	pre      *prefilter
	keys     *keyMatcher
	raw      []rawPattern
	disabled bool
	decOpts  jsontext.Options
	pool     sync.Pool // of *state
}

// New checks cfg and builds a Redactor.
func New(cfg Config) (*Redactor, error) {
	if len(cfg.SiteKey) < MinSiteKeyLen {
		return nil, fmt.Errorf("redact: site key is %d bytes, want at least %d", len(cfg.SiteKey), MinSiteKeyLen)
	}
	r := &Redactor{
		siteKey:  bytes.Clone(cfg.SiteKey),
		disabled: cfg.Disable,
		decOpts:  jsontext.AllowDuplicateNames(true),
	}
	r.dets = append(r.dets, builtinDetectors...)
	if len(cfg.ExtraPatterns) > maxDetectors-len(builtinDetectors) {
		return nil, fmt.Errorf("redact: %d extra patterns, at most %d allowed", len(cfg.ExtraPatterns), maxDetectors-len(builtinDetectors))
	}
	for i, p := range cfg.ExtraPatterns {
		d, err := compilePattern(p)
		if err != nil {
			return nil, fmt.Errorf("redact: extra pattern %d (kind %q, %q): %w", i, p.Kind, p.Regexp, err)
		}
		r.dets = append(r.dets, d)
	}
	var err error
	if r.keys, err = newKeyMatcher(cfg.ExtraKeys); err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	if r.raw, err = parseRawPatterns(cfg.RawPaths); err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	r.pre = newPrefilter(r.dets)
	r.pool.New = func() any { return new(state) }
	return r, nil
}

func compilePattern(p Pattern) (detector, error) {
	if !kindRe.MatchString(p.Kind) {
		return detector{}, errors.New("kind must be 1 to 32 of a-z, 0-9, '_' and '-', starting with a letter or digit")
	}
	if p.Regexp == "" {
		return detector{}, errors.New("empty regexp")
	}
	re, err := regexp.Compile(p.Regexp)
	if err != nil {
		return detector{}, fmt.Errorf("bad regexp: %w", err)
	}
	if re.MatchString("") {
		return detector{}, errors.New("regexp matches the empty string")
	}
	d := detector{kind: p.Kind, re: re}
	if prefix, _ := re.LiteralPrefix(); prefix != "" {
		d.lits = []string{prefix}
	}
	return d, nil
}

// state is the scratch space of one Redact call.
type state struct {
	src     bytes.Buffer
	dec     jsontext.Decoder
	path    pathState
	frames  []frame
	scratch []byte // unquoted strings
	keyBuf  []byte // normalized member names
	hits    []hit
	spans   []span
	markers [][2]int
	edits   []edit
	arena   []byte // replacement JSON strings of edits
}

// frame is an object or array being read.
type frame struct {
	obj   bool
	depth int // path depth of the container itself
	n     int // arrays: index of the next element
	// key is the key rule of the member being read (objects) or of the
	// array itself (arrays, inherited from the member holding it); -1: none.
	key      int
	nameNext bool // objects: the next token is a member name
}

// edit replaces msg[start:end] (a JSON string) by arena[from:to].
type edit struct {
	start, end int
	from, to   int
}

// Redact redacts the JSON value msg. prefix is the path of msg in the
// record ("msg"); the returned paths start with it. When nothing is
// redacted, out is msg itself and replaced is nil. Invalid JSON (including
// invalid UTF-8 and trailing data) gives an error and no output.
func (r *Redactor) Redact(prefix string, msg []byte) (out []byte, replaced []string, err error) {
	st := r.pool.Get().(*state)
	defer func() {
		st.src = bytes.Buffer{}
		st.dec.Reset(&st.src)
		r.pool.Put(st)
	}()
	replaced, err = r.walk(prefix, msg, st)
	if err != nil {
		return nil, nil, fmt.Errorf("redact: %w", err)
	}
	if len(st.edits) == 0 {
		return msg, nil, nil
	}
	grow := 0
	for _, e := range st.edits {
		grow += (e.to - e.from) - (e.end - e.start)
	}
	out = make([]byte, 0, len(msg)+grow)
	prev := 0
	for _, e := range st.edits {
		out = append(out, msg[prev:e.start]...)
		out = append(out, st.arena[e.from:e.to]...)
		prev = e.end
	}
	return append(out, msg[prev:]...), replaced, nil
}

// walk reads msg token by token, records the edits in st and returns the
// paths it redacted.
func (r *Redactor) walk(prefix string, msg []byte, st *state) ([]string, error) {
	st.src = *bytes.NewBuffer(msg)
	st.dec.Reset(&st.src, r.decOpts)
	st.path.reset(prefix)
	st.frames = st.frames[:0]
	st.edits = st.edits[:0]
	st.arena = st.arena[:0]
	dec := &st.dec
	var replaced []string
	for {
		kind := dec.PeekKind()
		if kind == 0 { // error or end of input
			_, err := dec.ReadToken()
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		var top *frame
		if n := len(st.frames); n > 0 {
			top = &st.frames[n-1]
		}
		// Closing delimiter.
		if kind == '}' || kind == ']' {
			if _, err := dec.ReadToken(); err != nil {
				return nil, err
			}
			st.path.truncate(top.depth)
			st.frames = st.frames[:len(st.frames)-1]
			if len(st.frames) == 0 {
				break
			}
			r.valueDone(st)
			continue
		}
		// Member name.
		if top != nil && top.obj && top.nameNext {
			raw, err := dec.ReadValue()
			if err != nil {
				return nil, err
			}
			name, err := st.unquote(raw)
			if err != nil {
				return nil, err
			}
			st.path.truncate(top.depth)
			st.path.pushName(name)
			top.key, st.keyBuf = r.keys.match(name, st.keyBuf)
			top.nameNext = false
			continue
		}
		// A value: the root, a member value or an array element.
		key := -1
		if top != nil {
			key = top.key
			if !top.obj {
				st.path.truncate(top.depth)
				st.path.pushIndex(top.n)
				top.n++
			}
		}
		if len(r.raw) > 0 && st.path.matches(r.raw) {
			if err := dec.SkipValue(); err != nil {
				return nil, err
			}
		} else {
			switch kind {
			case '{', '[':
				if _, err := dec.ReadToken(); err != nil {
					return nil, err
				}
				st.frames = append(st.frames, frame{obj: kind == '{', depth: st.path.depth(), key: key, nameNext: true})
				continue
			case '"':
				raw, err := dec.ReadValue()
				if err != nil {
					return nil, err
				}
				if !r.disabled {
					end := int(dec.InputOffset())
					changed, err := r.redactString(raw, end-len(raw), key, st)
					if err != nil {
						return nil, err
					}
					if changed {
						replaced = appendPath(replaced, string(st.path.buf))
					}
				}
			default:
				if _, err := dec.ReadValue(); err != nil {
					return nil, err
				}
			}
		}
		if len(st.frames) == 0 {
			break
		}
		r.valueDone(st)
	}
	// Only white space may follow the value.
	for _, c := range msg[dec.InputOffset():] {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return nil, fmt.Errorf("invalid character %q after the top-level value at offset %d", c, dec.InputOffset())
		}
	}
	return replaced, nil
}

// valueDone moves the innermost container past a finished value.
func (r *Redactor) valueDone(st *state) {
	top := &st.frames[len(st.frames)-1]
	if top.obj {
		top.nameNext = true
	}
}

// appendPath appends p unless it is already listed (duplicate member
// names give the same path twice).
func appendPath(paths []string, p string) []string {
	for _, q := range paths {
		if q == p {
			return paths
		}
	}
	return append(paths, p)
}

// unquote returns the content of the JSON string raw, unescaped into
// st.scratch when needed.
func (st *state) unquote(raw []byte) ([]byte, error) {
	content := raw[1 : len(raw)-1]
	if bytes.IndexByte(content, '\\') < 0 {
		return content, nil
	}
	var err error
	st.scratch, err = jsontext.AppendUnquote(st.scratch[:0], raw)
	return st.scratch, err
}

// redactString redacts the JSON string raw found at msg[start:] and
// records an edit when it changed. key is the key rule of the member
// holding it, or -1.
func (r *Redactor) redactString(raw []byte, start, key int, st *state) (bool, error) {
	s, err := st.unquote(raw)
	if err != nil {
		return false, err
	}
	var repl []byte
	switch {
	case key >= 0:
		if len(s) == 0 || IsMarker(s) {
			return false, nil
		}
		repl = appendMarker(nil, r.siteKey, r.keys.rules[key].kind, s)
	default:
		if repl = r.redactText(s, st); repl == nil {
			return false, nil
		}
	}
	from := len(st.arena)
	st.arena, err = jsontext.AppendQuote(st.arena, repl)
	if err != nil {
		return false, fmt.Errorf("quoting a redacted string: %w", err)
	}
	st.edits = append(st.edits, edit{start: start, end: start + len(raw), from: from, to: len(st.arena)})
	return true, nil
}
