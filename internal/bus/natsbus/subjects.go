package natsbus

import (
	"strconv"
	"strings"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// Subject and name layout on JetStream. Each partition has its own
// capture stream, named after the topic and the partition, holding the
// partition's one subject: a partition's consumer reads its stream from
// end to end instead of skipping the other partitions' records. The
// dead-letter stream is named after the dead-letter topic and holds one
// subject.
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
	streams    []string // capture stream of each partition
	subjects   []string // capture subject of each partition
	dlqStream  string   // dead-letter stream name
	dlqSubject string   // dead-letter subject
	partitions int
	// oneStream is the name of the single capture stream, holding every
	// partition's subject, of earlier mcptrail builds: a bus that has it
	// cannot take the per-partition streams.
	oneStream string
}

func newLayout(topic string, partitions int) layout {
	t := sanitizeName(topic)
	l := layout{
		dlqStream:  sanitizeName(bus.DeadLetterTopic(topic)),
		dlqSubject: t + ".dlq",
		partitions: partitions,
		streams:    make([]string, partitions),
		subjects:   make([]string, partitions),
		oneStream:  t,
	}
	for p := range partitions {
		l.streams[p] = t + "-p" + strconv.Itoa(p)
		l.subjects[p] = t + ".capture." + strconv.Itoa(p)
	}
	return l
}

// StreamNames returns the JetStream streams of a topic with partitions
// partitions: the capture stream of each partition, and the dead-letter
// stream.
func StreamNames(topic string, partitions int) (capture []string, deadLetters string) {
	l := newLayout(topic, partitions)
	return l.streams, l.dlqStream
}

// consumerName is the durable consumer of group on partition p.
func consumerName(group string, p int) string {
	return sanitizeName(group) + "-p" + strconv.Itoa(p)
}
