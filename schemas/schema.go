package schemas

import _ "embed"

// CaptureJSONSchema is the JSON Schema (draft 2020-12) of a capture record,
// kept in step with Record by a test.
//
//go:embed capture.schema.json
var CaptureJSONSchema []byte
