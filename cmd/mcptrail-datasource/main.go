// Command mcptrail-datasource is the backend of mcptrail's Grafana data
// source plugin (dashboards/plugin). Grafana starts it and talks to it over
// gRPC; build it with `go tool task plugin`.
package main

import (
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/mcptrail/mcptrail/dashboards/plugin"
)

func main() {
	if err := datasource.Manage(plugin.ID, plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error("mcptrail-datasource", "error", err.Error())
		os.Exit(1)
	}
}
