package tap

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Errors that [Frame.Err] wraps; test them with [errors.Is].
var (
	// ErrTooLong marks a line longer than [Config.MaxLine]; its bytes are
	// not kept.
	ErrTooLong = errors.New("line too long")
	// ErrInvalidUTF8 marks a line that is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	// ErrNotJSON marks a line that is not exactly one JSON value.
	ErrNotJSON = errors.New("not a JSON value")
)

// Frame is one line of the tapped stream, without its LF or CRLF.
type Frame struct {
	// Data is the line's bytes; nil when the line was too long. The
	// handler owns it and may keep it.
	Data []byte
	// Offset is the stream offset of the line's first byte.
	Offset int64
	// Len is the line's length in bytes (len(Data) unless too long).
	Len int64
	// Err is nil for a line holding one valid JSON value; otherwise it
	// wraps ErrTooLong, ErrInvalidUTF8 or ErrNotJSON.
	Err error
	// Unterminated is set for a last line that ended with the stream
	// (at [Tap.Close]) instead of a newline.
	Unterminated bool
}

// jsonOpts accepts duplicate object names: they are valid RFC 8259 JSON,
// and judging them is the JSON-RPC layer's business.
var jsonOpts = jsontext.AllowDuplicateNames(true)

// check returns why line is not exactly one JSON value, or nil.
func check(line []byte) error {
	if !utf8.Valid(line) {
		return fmt.Errorf("%w at byte %d", ErrInvalidUTF8, firstInvalidUTF8(line))
	}
	if jsontext.Value(line).IsValid(jsonOpts) {
		return nil
	}
	// Slow path, only for bad lines: decode again to learn why.
	d := jsontext.NewDecoder(bytes.NewReader(line), jsonOpts)
	_, err := d.ReadValue()
	if err == nil {
		if _, err = d.ReadToken(); err == nil {
			err = fmt.Errorf("more than one JSON value on the line (next at byte %d)", d.InputOffset())
		}
	}
	return fmt.Errorf("%w: %v", ErrNotJSON, err)
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}
