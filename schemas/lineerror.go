package schemas

import "fmt"

// ErrorKind classifies why a capture line was rejected.
type ErrorKind string

// Kinds of bad lines.
const (
	// ErrEmptyLine: the line holds nothing but white space.
	ErrEmptyLine ErrorKind = "empty_line"
	// ErrLineTooLong: the line exceeds the reader's line limit.
	ErrLineTooLong ErrorKind = "line_too_long"
	// ErrInvalidUTF8: the line is not valid UTF-8.
	ErrInvalidUTF8 ErrorKind = "invalid_utf8"
	// ErrSyntax: the line is not one valid JSON object (truncated, extra
	// data, duplicate member names).
	ErrSyntax ErrorKind = "syntax"
	// ErrWrongType: a field holds a JSON value of the wrong type.
	ErrWrongType ErrorKind = "wrong_type"
	// ErrMissingField: a required field is absent or empty.
	ErrMissingField ErrorKind = "missing_field"
	// ErrInvalidValue: a field has the right type but a value the format
	// does not allow (an unknown transport, a version other than 1).
	ErrInvalidValue ErrorKind = "invalid_value"
)

// LineError reports one rejected capture line. The reader goes on with the
// next line after returning it.
type LineError struct {
	// Line is the 1-based line number.
	Line int64
	// Column is the 1-based byte column in the line where the problem was
	// found, or 0 when it concerns the whole line or a missing field.
	Column int64
	// Field is the path of the offending field ("ts", "server.name",
	// "msg/params"), or "" when the line as a whole is at fault.
	Field string
	// Kind classifies the problem.
	Kind ErrorKind
	// Reason says what is wrong, in words.
	Reason string
}

// Error formats the error as "line N[, column C]: field F: reason (kind)".
func (e *LineError) Error() string {
	pos := fmt.Sprintf("line %d", e.Line)
	if e.Column > 0 {
		pos += fmt.Sprintf(", column %d", e.Column)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: field %q: %s (%s)", pos, e.Field, e.Reason, e.Kind)
	}
	return fmt.Sprintf("%s: %s (%s)", pos, e.Reason, e.Kind)
}
