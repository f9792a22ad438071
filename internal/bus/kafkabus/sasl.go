package kafkabus

import (
	"fmt"
	"strings"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// saslMechanism maps bus.Auth to a kafka-go SASL mechanism; nil means no
// SASL. Use it with TLS: PLAIN sends the password as is.
func saslMechanism(a bus.Auth) (sasl.Mechanism, error) {
	switch strings.ToLower(a.SASL) {
	case "":
		return nil, nil
	case "plain":
		return plain.Mechanism{Username: a.User, Password: a.Password}, nil
	case "scram-sha-256":
		m, err := scram.Mechanism(scram.SHA256, a.User, a.Password)
		if err != nil {
			return nil, fmt.Errorf("kafkabus: SASL SCRAM-SHA-256: %w", err)
		}
		return m, nil
	case "scram-sha-512":
		m, err := scram.Mechanism(scram.SHA512, a.User, a.Password)
		if err != nil {
			return nil, fmt.Errorf("kafkabus: SASL SCRAM-SHA-512: %w", err)
		}
		return m, nil
	default:
		return nil, fmt.Errorf("kafkabus: unknown SASL mechanism %q (want plain, scram-sha-256 or scram-sha-512)", a.SASL)
	}
}
