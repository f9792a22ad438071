// Package tap observes a newline-delimited JSON byte stream (MCP's stdio
// transport) while it is relayed, and hands a copy of every line to the
// capture pipeline as a [Frame].
//
// The relay always wins: [Tap.Write] never fails, never alters the bytes it
// is given and never waits for the consumer. It only splits the stream into
// lines and copies each completed line into a bounded [Queue]; JSON
// validation and the [Handler] run on the queue's goroutine. When the
// queue is full the frame is dropped and counted ([Tap.Dropped]); the
// relayed bytes are never affected.
//
// The taps of a session's two directions share one Queue, so that their
// frames are handled in a single order: the order they were queued in.
// [Relay] taps each chunk before forwarding it, so a request is queued
// before the peer can read it, and its answer after it.
//
// Framing follows the MCP stdio transport: one JSON value per line, LF or
// CRLF terminated. Lines made only of JSON whitespace are ignored. A line
// that is not one valid JSON value (or is not UTF-8) is still delivered,
// with [Frame.Err] saying why; a line longer than [Config.MaxLine] is
// reported once, with its length and without its bytes.
//
// [Relay] copies a reader to a writer through a tap, writing every chunk as
// soon as it is read.
package tap
