package textscan

import (
	"strings"
	"unicode/utf8"
)

// HiddenKind names a class of characters a reader does not see but a
// model does.
type HiddenKind string

// The hidden character classes.
const (
	// HiddenTag is a Unicode tag character (U+E0000–U+E007F): ASCII text
	// that renders as nothing.
	HiddenTag HiddenKind = "unicode_tag"
	// HiddenZeroWidth is a zero-width space, joiner or word joiner.
	HiddenZeroWidth HiddenKind = "zero_width"
	// HiddenBidi is a bidirectional override or isolate, which reorders
	// what is displayed.
	HiddenBidi HiddenKind = "bidi"
	// HiddenANSI is a terminal escape sequence, which can erase or recolour
	// text on a terminal.
	HiddenANSI HiddenKind = "ansi_escape"
	// HiddenControl is another C0/C1 control character (tab, newline and
	// carriage return are not).
	HiddenControl HiddenKind = "control"
)

// Hidden is what HiddenChars found in a text.
type Hidden struct {
	// Counts per kind.
	Counts map[HiddenKind]int
	// Decoded is the ASCII text smuggled in tag characters, if any.
	Decoded string
}

// Any reports whether anything hidden was found.
func (h Hidden) Any() bool { return len(h.Counts) > 0 }

// HiddenChars scans s for characters that hide text from a human reader.
// A lone zero-width joiner between emoji is common in ordinary text, so
// zero-width characters count only when there are at least two.
func HiddenChars(s string) Hidden {
	var h Hidden
	var tags []byte
	zw := 0
	for i := 0; i < len(s); {
		if c := s[i]; c >= 0x20 && c < 0x7F || c == '\t' || c == '\n' || c == '\r' {
			i++ // printable ASCII: the common case
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		var kind HiddenKind
		switch {
		case r >= 0xE0000 && r <= 0xE007F:
			kind = HiddenTag
			if c := r - 0xE0000; c >= 0x20 && c < 0x7F {
				tags = append(tags, byte(c))
			}
		case r == 0x200B || r == 0x200C || r == 0x200D || r == 0x2060 || r == 0xFEFF || r == 0x180E:
			zw++
			continue
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F:
			kind = HiddenBidi
		case r == 0x1B:
			kind = HiddenANSI
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r >= 0x7F && r <= 0x9F:
			kind = HiddenControl
		default:
			continue
		}
		if h.Counts == nil {
			h.Counts = map[HiddenKind]int{}
		}
		h.Counts[kind]++
	}
	if zw >= 2 {
		if h.Counts == nil {
			h.Counts = map[HiddenKind]int{}
		}
		h.Counts[HiddenZeroWidth] = zw
	}
	h.Decoded = string(tags)
	return h
}

// Reveal returns s with tag characters decoded to the ASCII they carry
// and every other hidden character removed, so that the text a model sees
// can be scored like visible text.
func Reveal(s string) string {
	first := revealStart(s)
	if first == len(s) {
		return s
	}
	out := make([]byte, 0, len(s))
	out = append(out, s[:first]...)
	for i := first; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r >= 0xE0000 && r <= 0xE007F:
			if c := r - 0xE0000; c >= 0x20 && c < 0x7F {
				out = append(out, byte(c))
			}
		case r == 0x200B || r == 0x200C || r == 0x200D || r == 0x2060 || r == 0xFEFF,
			r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		case r == 0x1B:
			// Skip a CSI sequence: ESC [ params final-byte.
			j := i + size
			if j < len(s) && s[j] == '[' {
				j++
				for j < len(s) && (s[j] < 0x40 || s[j] > 0x7E) {
					j++
				}
				if j < len(s) {
					j++
				}
			}
			i = j
			continue
		default:
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

// revealStart returns the offset of the first byte from which Reveal may
// change s (len(s) if none): ESC, or the first byte of the UTF-8 encoding
// of a character it decodes or removes (U+2xxx, U+FEFF, U+E00xx). None of
// these bytes continues a UTF-8 sequence, so the offset is where a rune
// starts.
func revealStart(s string) int {
	first := len(s)
	for _, c := range [...]byte{0x1B, 0xE2, 0xEF, 0xF3} {
		// Each search stops at the first byte found so far.
		if i := strings.IndexByte(s[:first], c); i >= 0 {
			first = i
		}
	}
	return first
}
