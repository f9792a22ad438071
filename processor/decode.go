package processor

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/schemas"
)

// Decode decodes one capture line (a bus message) into rec and validates
// it, as schemas.Reader does for a line of a file. rec is reset first and
// gets a message of its own (rows may keep it). A bad line gives a
// *schemas.LineError (line 1) whose Kind and Reason say why, the same
// words `mcptrail validate` uses.
func Decode(line []byte, rec *schemas.Record) error {
	*rec = schemas.Record{}
	err := json.Unmarshal(line, rec)
	if err == nil {
		if err = rec.Validate(); err == nil {
			return nil
		}
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
	return &schemas.LineError{Line: 1, Kind: schemas.ErrSyntax, Reason: fmt.Sprintf("not one capture record: %v", err)}
}
