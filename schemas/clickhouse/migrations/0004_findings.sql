-- 0004 findings: what the detector concluded, one row per finding.
--
-- finding_id is the detector's stable id (xxhash64 over rule, session and the
-- triggering event ids), so re-running the detector over the same events, or
-- a retried insert, yields the same id: ReplacingMergeTree(inserted_at) keeps
-- one row per (rule, session, finding_id) after merges, FINAL before. A later
-- row with the same id replaces the earlier one (e.g. a raised severity).
-- Sorted by rule then session: dashboards list findings per rule and open a
-- session's findings next to its events; the table is small, time ranges
-- prune by monthly partition.
CREATE TABLE IF NOT EXISTS {{local "findings"}} {{on_cluster}}
(
    finding_id  UInt64 COMMENT 'stable id from the detector (dedup key)',
    ts          DateTime64(6, 'UTC') COMMENT 'time of the triggering event',
    session     String,
    rule        LowCardinality(String) COMMENT 'detector rule id',
    severity    Enum8('info' = 0, 'low' = 1, 'medium' = 2, 'high' = 3, 'critical' = 4),
    title       String,
    call_ids    Array(String) COMMENT 'JSON-RPC ids of the calls involved',
    event_ids   Array(UInt64) COMMENT 'events.event_id of the evidence rows',
    evidence    String CODEC(ZSTD(3)) COMMENT 'JSON: what matched, and why',
    host        LowCardinality(String),
    server_name LowCardinality(String),
    client_name LowCardinality(String),
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_session session TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_severity severity TYPE minmax GRANULARITY 4
)
ENGINE = {{engine "ReplacingMergeTree" "inserted_at"}}
PARTITION BY toYYYYMM(ts)
ORDER BY (rule, session, finding_id)
TTL toDateTime(ts) + INTERVAL {{retention_days}} DAY DELETE
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'detector findings';

{{distributed "findings" "xxHash64(session)"}};
