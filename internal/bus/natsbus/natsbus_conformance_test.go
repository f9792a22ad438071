package natsbus

import (
	"testing"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/bustest"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
)

// TestConformance runs the bus conformance suite against an embedded
// server, restarted on the same address and data directory.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance suite publishes 100k records")
	}
	ts := startServer(t, natsserver.Config{Token: "conformance-token"})
	bustest.Run(t, bustest.Backend{
		Name: "nats",
		Open: func(t *testing.T, cfg bus.Config) bus.Bus {
			return ts.open(t, cfg)
		},
		Stop:  func(*testing.T) { ts.stop() },
		Start: func(t *testing.T) { ts.start(t) },
	})
}
