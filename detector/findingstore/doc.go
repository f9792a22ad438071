// Package findingstore writes the detector's findings into ClickHouse's
// findings table (schemas/clickhouse/migrations/0004_findings.sql).
//
// The table is a ReplacingMergeTree keyed by (rule, session, finding_id),
// and Finding.ID is stable across re-runs, so writing a finding again, from
// a retry or a replay of the same events, stores it once: exactly once after
// merges, and once when read with FINAL. A later row with the same id
// replaces the earlier one (a raised severity). Each batch also carries an
// insert deduplication token derived from its content, so a retried batch
// is dropped by the server at once.
package findingstore
