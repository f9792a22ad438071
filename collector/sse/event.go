package sse

import (
	"errors"
	"time"
)

// Errors the parser reports; test them with [errors.Is].
var (
	// ErrEventTooLarge marks an event whose data, type or id exceeds
	// [Options.MaxEvent]; the event's data is not kept.
	ErrEventTooLarge = errors.New("event too large")
	// ErrIncomplete is returned by [Parser.Close] when the stream ended
	// inside an event, which is then discarded as the spec requires.
	ErrIncomplete = errors.New("stream ended inside an event")
)

// Event is one dispatched event.
type Event struct {
	// Type is the event type; "message" when the stream named none.
	Type string
	// ID is the last event ID in effect when the event was dispatched
	// (it carries over from earlier events, as in the spec).
	ID string
	// Data is the data fields joined with '\n'. The handler owns it.
	// Nil for an oversized event.
	Data []byte
	// Retry is the reconnection time set by a retry field within this
	// event's block, or 0.
	Retry time.Duration
	// Size is the length the data had (or would have had) in bytes.
	Size int64
	// Err is nil, or wraps ErrEventTooLarge.
	Err error
}
