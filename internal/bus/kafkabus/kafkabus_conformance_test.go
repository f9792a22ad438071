package kafkabus_test

import (
	"testing"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/bustest"
)

func TestConformance(t *testing.T) {
	bustest.Run(t, bustest.Backend{
		Name: "kafka",
		Open: func(t *testing.T, cfg bus.Config) bus.Bus {
			t.Helper()
			cfg.Servers = []string{testBroker.addr}
			return open(t, cfg)
		},
		Stop:  testBroker.Stop,
		Start: testBroker.Start,
	})
}
