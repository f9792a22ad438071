package kafkabus_test

import (
	"testing"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/bustest"
	"github.com/mcptrail/mcptrail/internal/bus/kafkabus/kafkatest"
)

func TestConformance(t *testing.T) {
	broker := kafkatest.Shared(t)
	bustest.Run(t, bustest.Backend{
		Name: "kafka",
		Open: func(t *testing.T, cfg bus.Config) bus.Bus {
			t.Helper()
			cfg.Servers = []string{broker.Addr()}
			return open(t, cfg)
		},
		Stop:  broker.Stop,
		Start: broker.Start,
	})
}
