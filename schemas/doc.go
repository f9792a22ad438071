// Package schemas is mcptrail's event model in one place: the Go types of
// the capture record (the pipeline's input contract, see capture.schema.json)
// and of the stored audit event, and a streaming reader for capture files.
//
// A capture file is JSON Lines: one [Record] per line. [Reader] decodes it
// line by line, reports every bad line as a [*LineError] naming the line,
// the field and the reason, and goes on with the next line.
package schemas
