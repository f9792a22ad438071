package schemas

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// DefaultMaxLineBytes is the longest capture line a Reader accepts by
// default: 64 MiB, enough for a large tool result.
const DefaultMaxLineBytes = 64 << 20

// readBufferBytes is the read buffer; lines longer than it are assembled in
// a separate buffer.
const readBufferBytes = 256 << 10

// Reader reads capture records from a JSON Lines stream, one line at a time.
//
// Next returns a *LineError for a bad line and goes on with the next line on
// the following call; any other error (from the underlying reader) ends the
// stream. A Reader is not safe for concurrent use.
type Reader struct {
	br      *bufio.Reader
	maxLine int
	long    []byte // assembles lines longer than the read buffer
	line    []byte // the current line, without its line break
	lineNo  int64
	offset  int64
	err     error // sticky read error
	dec     Decoder
}

// ReaderOption configures a Reader.
type ReaderOption func(*Reader)

// WithMaxLineBytes sets the longest line accepted; longer lines are skipped
// and reported as ErrLineTooLong. n <= 0 keeps the default.
func WithMaxLineBytes(n int) ReaderOption {
	return func(r *Reader) {
		if n > 0 {
			r.maxLine = n
		}
	}
}

// NewReader returns a Reader that reads capture lines from src.
func NewReader(src io.Reader, opts ...ReaderOption) *Reader {
	r := &Reader{br: bufio.NewReaderSize(src, readBufferBytes), maxLine: DefaultMaxLineBytes}
	r.dec.noWalk = true
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// Line is the 1-based number of the line Next read last.
func (r *Reader) Line() int64 { return r.lineNo }

// Offset is how many bytes of the input Next has consumed so far.
func (r *Reader) Offset() int64 { return r.offset }

// Next decodes the next line. It returns io.EOF at the end of the input, a
// *LineError for a bad line (the caller may go on calling Next), and any
// other error for a failed read.
func (r *Reader) Next() (*Record, error) {
	rec := new(Record)
	if err := r.NextInto(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// NextInto is Next that decodes into rec, which it resets first. Reusing
// one Record keeps allocations down when the caller does not keep records.
func (r *Reader) NextInto(rec *Record) error {
	size, err := r.readLine()
	if err != nil {
		return err
	}
	r.lineNo++
	if size > int64(r.maxLine) {
		return &LineError{Line: r.lineNo, Kind: ErrLineTooLong,
			Reason: fmt.Sprintf("line is %d bytes, longer than the limit of %d bytes", size, r.maxLine)}
	}
	aliased, err := r.dec.decode(r.lineNo, r.line, rec)
	if aliased {
		rec.Msg = bytes.Clone(rec.Msg) // r.line is overwritten by the next line
	}
	return err
}

// readLine reads the next line into r.line and returns its size in bytes,
// counting the bytes of a too-long line that it discarded.
func (r *Reader) readLine() (int64, error) {
	if r.err != nil {
		return 0, r.err
	}
	r.line = nil
	if cap(r.long) > 4*readBufferBytes {
		r.long = nil // do not keep a huge buffer after one huge line
	}
	r.long = r.long[:0]
	var size int64
	var frag []byte
	tooLong := false
	for {
		var err error
		frag, err = r.br.ReadSlice('\n')
		size += int64(len(frag))
		r.offset += int64(len(frag))
		switch {
		case tooLong:
		case size > int64(r.maxLine)+2: // +2 leaves room for "\r\n"
			tooLong, r.long = true, r.long[:0]
		case err == nil && len(r.long) == 0:
			r.line = frag // the common case: no copy
		default:
			r.long = append(r.long, frag...)
			r.line = r.long
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.err = fmt.Errorf("read capture input: %w", err)
				return 0, r.err
			}
			r.err = io.EOF
			if size == 0 {
				return 0, io.EOF
			}
		}
		break
	}
	if tooLong {
		r.line = nil
		return size - int64(len(frag)-len(trimLineBreak(frag))), nil
	}
	r.line = trimLineBreak(r.line)
	return int64(len(r.line)), nil
}

func trimLineBreak(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// decodeError turns an error from the JSON decoder into a LineError that
// names the field and the reason.
func decodeError(lineNo int64, line []byte, err error) *LineError {
	le := &LineError{Line: lineNo, Kind: ErrSyntax, Reason: err.Error()}
	if !utf8.Valid(line) {
		at := invalidUTF8At(line)
		le.Kind, le.Column = ErrInvalidUTF8, int64(at)+1
		le.Reason = fmt.Sprintf("invalid UTF-8 byte 0x%02x", line[at])
	}
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn):
		le.Field = fieldPath(syn.JSONPointer)
		if le.Kind == ErrSyntax {
			le.Column = syn.ByteOffset + 1
			le.Reason = syntaxReason(syn)
		}
	case errors.As(err, &sem):
		le.Field = fieldPath(sem.JSONPointer)
		le.Column = sem.ByteOffset + 1
		le.Kind, le.Reason = semanticReason(sem)
	}
	return le
}

func syntaxReason(e *jsontext.SyntacticError) string {
	if errors.Is(e.Err, io.ErrUnexpectedEOF) {
		return "line ends inside a JSON value (truncated?)"
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Error()
}

// semanticReason tells a value of the wrong JSON type from a value of the
// right type that does not parse (such as a malformed timestamp).
func semanticReason(e *json.SemanticError) (ErrorKind, string) {
	want := "a valid value"
	if e.GoType != nil {
		want = jsonKindOf(e.GoType)
	}
	got := "JSON " + kindName(e.JSONKind)
	if e.JSONKind != 0 && want == kindName(e.JSONKind) || e.GoType == reflect.TypeFor[time.Time]() {
		reason := fmt.Sprintf("cannot read %s as %s", got, want)
		if e.Err != nil {
			reason = fmt.Sprintf("%s: %v", reason, e.Err)
		}
		return ErrInvalidValue, reason
	}
	if e.JSONPointer == "" {
		return ErrWrongType, fmt.Sprintf("line must be a JSON object, got %s", got)
	}
	if e.Err != nil {
		return ErrWrongType, fmt.Sprintf("got %s, want %s: %v", got, want, e.Err)
	}
	return ErrWrongType, fmt.Sprintf("got %s, want %s", got, want)
}

func jsonKindOf(t reflect.Type) string {
	if t == reflect.TypeFor[time.Time]() {
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "object"
	}
	return t.String()
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "value"
}

// fieldPath turns a JSON pointer such as "/server/name" into "server.name".
func fieldPath(p jsontext.Pointer) string {
	if p == "" {
		return ""
	}
	var parts []string
	for tok := range p.Tokens() {
		parts = append(parts, tok)
	}
	return strings.Join(parts, ".")
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return 0
}
