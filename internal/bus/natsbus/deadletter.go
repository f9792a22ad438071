package natsbus

import (
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// deadLetterMsg is the dead-letter record of d: its key, value and
// headers, with the reason and its original partition and position.
func deadLetterMsg(subject string, d *bus.Delivery, reason string) *nats.Msg {
	h := make(nats.Header, len(d.Headers)+4)
	for k, v := range d.Headers {
		h[k] = []string{v}
	}
	h[headerKey] = []string{string(d.Key)}
	h[bus.HeaderDeadLetterReason] = []string{headerValue(reason)}
	h[bus.HeaderDeadLetterPartition] = []string{strconv.Itoa(d.Partition)}
	h[bus.HeaderDeadLetterPosition] = []string{strconv.FormatUint(d.Position, 10)}
	return &nats.Msg{Subject: subject, Header: h, Data: d.Value}
}

// headerValue makes s fit on one header line.
func headerValue(s string) string {
	return strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
}
