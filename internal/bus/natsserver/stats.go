package natsserver

import "fmt"

// Stats is what the server's own monitoring (varz and jsz) says about it.
type Stats struct {
	// Connections is how many clients are connected now;
	// TotalConnections how many connected since the server started.
	Connections      int
	TotalConnections uint64
	// InMsgs and InBytes are the messages and bytes the server received
	// since it started, OutMsgs and OutBytes those it sent.
	InMsgs, InBytes   int64
	OutMsgs, OutBytes int64
	// SlowConsumers counts clients disconnected for not reading fast
	// enough.
	SlowConsumers int64
	// Subscriptions is how many subscriptions are active.
	Subscriptions uint32
	// JetStream holds the streams' totals.
	JetStream JetStreamStats
}

// JetStreamStats are the totals over the server's JetStream streams.
type JetStreamStats struct {
	Streams, Consumers int
	// Messages and Bytes are what the streams hold.
	Messages, Bytes uint64
	// Memory and Store are the bytes JetStream uses in memory and on disk.
	Memory, Store uint64
}

// Stats reads the server's monitoring (as /varz and /jsz serve it, without
// the HTTP listener).
func (e *Server) Stats() (Stats, error) {
	v, err := e.srv.Varz(nil)
	if err != nil {
		return Stats{}, fmt.Errorf("natsserver: varz: %w", err)
	}
	js, err := e.srv.Jsz(nil)
	if err != nil {
		return Stats{}, fmt.Errorf("natsserver: jsz: %w", err)
	}
	return Stats{
		Connections:      v.Connections,
		TotalConnections: v.TotalConnections,
		InMsgs:           v.InMsgs,
		InBytes:          v.InBytes,
		OutMsgs:          v.OutMsgs,
		OutBytes:         v.OutBytes,
		SlowConsumers:    v.SlowConsumers,
		Subscriptions:    v.Subscriptions,
		JetStream: JetStreamStats{
			Streams: js.Streams, Consumers: js.Consumers,
			Messages: js.Messages, Bytes: js.Bytes,
			Memory: js.Memory, Store: js.Store,
		},
	}, nil
}
