package natsbus

import (
	"strconv"
	"strings"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// Subject and name layout on JetStream. The capture stream is named after
// the topic and holds one subject per partition; the dead-letter stream is
// named after the dead-letter topic and holds one subject.
const (
	// headerKey carries the record key (the MCP session).
	headerKey = "Mcptrail-Key"
	// headerPinID is the header the server sets on messages delivered to
	// the pinned member of a priority group.
	headerPinID = "Nats-Pin-Id"
	// priorityGroup is the JetStream priority group every member pulls in.
	// (Names are limited to 16 characters of [a-zA-Z0-9/_=-].)
	priorityGroup = "members"
)

// sanitizeName turns s into a valid JetStream stream or consumer name, and
// a single subject token: '.', whitespace, '*', '>', '/' and '\' become '_'.
func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', '/', '\\', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, s)
}

// layout is the set of names derived from a topic.
type layout struct {
	stream     string   // capture stream name
	subjects   []string // capture subject of each partition
	dlqStream  string   // dead-letter stream name
	dlqSubject string   // dead-letter subject
	partitions int
}

func newLayout(topic string, partitions int) layout {
	t := sanitizeName(topic)
	l := layout{
		stream:     t,
		dlqStream:  sanitizeName(bus.DeadLetterTopic(topic)),
		dlqSubject: t + ".dlq",
		partitions: partitions,
		subjects:   make([]string, partitions),
	}
	for p := range partitions {
		l.subjects[p] = t + ".capture." + strconv.Itoa(p)
	}
	return l
}

// consumerName is the durable consumer of group on partition p.
func consumerName(group string, p int) string {
	return sanitizeName(group) + "-p" + strconv.Itoa(p)
}
