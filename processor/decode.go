package processor

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/schemas"
)

// Decode decodes one capture line (a bus message) into rec and validates
// it, as schemas.Reader does for a line of a file. rec is reset first.
// rec.Msg is a slice of line, which rows may keep: line must not change
// while they do. A bad line gives a *schemas.LineError (line 1) whose Kind
// and Reason say why, the same words `mcptrail validate` uses. A consumer
// decodes with its Normalizer's Decode instead, which keeps its state from
// one message to the next.
func Decode(line []byte, rec *schemas.Record) error {
	var dec schemas.Decoder
	return decode(&dec, line, rec)
}

// decode is Decode with dec.
func decode(dec *schemas.Decoder, line []byte, rec *schemas.Record) error {
	if dec.Decode(line, rec) == nil {
		return nil
	}
	// The rare bad line: let the Reader classify it.
	if bytes.IndexByte(line, '\n') < 0 {
		var probe schemas.Record
		var le *schemas.LineError
		if rerr := schemas.NewReader(bytes.NewReader(line)).NextInto(&probe); errors.As(rerr, &le) {
			return le
		}
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return &schemas.LineError{Line: 1, Kind: schemas.ErrEmptyLine, Reason: "empty message"}
	}
	// Several lines in one message: say what json and the format's rules
	// make of it as a whole.
	*rec = schemas.Record{}
	err := json.Unmarshal(line, rec)
	if err == nil {
		err = rec.Validate()
	}
	return &schemas.LineError{Line: 1, Kind: schemas.ErrSyntax, Reason: fmt.Sprintf("not one capture record: %v", err)}
}
