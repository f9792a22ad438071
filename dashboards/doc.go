// Package dashboards holds mcptrail's Grafana dashboards (json/*.json,
// embedded) and a small model of them and of the Grafana provisioning files
// in deployments/grafana, for the tests that check them structurally and
// run every panel query on the real ClickHouse engine.
package dashboards
