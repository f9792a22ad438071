// Package plugin is mcptrail's Grafana backend data source
// (mcptrail-investigation-datasource). It answers the investigation
// queries that plain SQL panels do poorly, reading ClickHouse through
// processor/store.Open:
//
//   - sessionGraph: a session's tool-call chain as Node Graph frames
//     ("nodes": id, title, subTitle, mainStat, secondaryStat, arc__*,
//     detail__*; "edges": id, source, target, mainStat, detail__*), with
//     findings marked on the tools they involve.
//   - findings: findings with their evidence, one row per piece of
//     evidence, with the arguments of the call it points at.
//   - chainScores: how unusual tool-call chains are, under a transition
//     model of the sessions in the time range (per session, or per step of
//     one session).
//
// cmd/mcptrail-datasource is its main; plugin.json and module.js in this
// directory complete the plugin for Grafana.
package plugin
