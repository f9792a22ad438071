// Package processor turns capture records into stored audit events: it
// normalizes each record into events (schemas.NewEvents), pairs every
// response with its request (latency; the method and target a response
// lacks), gives each event a stable id, and appends it to a columnar batch
// for the ClickHouse events table.
//
// This file's siblings hold one step each: eventid.go, pair.go, columns.go
// and normalize.go (the step that runs the others).
package processor
