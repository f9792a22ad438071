-- 0005 pipeline: how the pipeline itself is doing, reported by the processor
-- and the detector. Plain MergeTree: these are observations, a duplicate
-- sample or problem report is harmless.

-- pipeline_metrics: periodic samples (bus lag, rows inserted, insert
-- latency, dead letters, spool depth...), one row per (component instance,
-- metric, sample time). Kept 90 days.
CREATE TABLE IF NOT EXISTS {{local "pipeline_metrics"}} {{on_cluster}}
(
    ts        DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    component LowCardinality(String) COMMENT 'processor, detector, collector',
    instance  LowCardinality(String) COMMENT 'host/pod of the component',
    metric    LowCardinality(String) COMMENT 'bus_lag_ms, rows_inserted, insert_ms, dead_letters, ...',
    labels    Map(LowCardinality(String), String) COMMENT 'partition, subject, table, ...',
    value     Float64 CODEC(Gorilla, ZSTD(1))
)
ENGINE = {{engine "MergeTree"}}
PARTITION BY toDate(ts)
ORDER BY (component, metric, instance, ts)
TTL toDateTime(ts) + INTERVAL 90 DAY DELETE
SETTINGS ttl_only_drop_parts = 1
COMMENT 'pipeline health samples';

{{distributed "pipeline_metrics" "rand()"}};

-- chain_problems: breaks of a collector stream's hash chain found by the
-- processor (schemas.ChainProblem): gap (with the missing seq range),
-- reorder, edit, duplicate, conflict. Audit evidence, so kept as long as
-- events.
CREATE TABLE IF NOT EXISTS {{local "chain_problems"}} {{on_cluster}}
(
    ts        DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'when the processor found it',
    kind      LowCardinality(String) COMMENT 'gap, reorder, edit, duplicate, conflict',
    stream    String,
    host      LowCardinality(String),
    session   String,
    seq       UInt64 COMMENT 'the record that showed the problem',
    from_seq  UInt64 COMMENT 'gap: first missing seq',
    to_seq    UInt64 COMMENT 'gap: last missing seq',
    detail    String
)
ENGINE = {{engine "MergeTree"}}
PARTITION BY toYYYYMM(ts)
ORDER BY (stream, seq, ts)
TTL toDateTime(ts) + INTERVAL {{retention_days}} DAY DELETE
COMMENT 'hash chain problems per collector stream';

{{distributed "chain_problems" "xxHash64(stream)"}};

-- dead_letters: bus messages the processor could not turn into events
-- (undecodable, invalid record), kept with the reason so nothing is lost
-- silently and they can be replayed after a fix.
CREATE TABLE IF NOT EXISTS {{local "dead_letters"}} {{on_cluster}}
(
    ts        DateTime64(3, 'UTC') DEFAULT now64(3),
    source    LowCardinality(String) COMMENT 'bus subject or topic',
    position  String COMMENT 'partition/offset or stream sequence on the bus',
    reason    String,
    payload   String CODEC(ZSTD(3)) COMMENT 'the message as received (already redacted by the collector)'
)
ENGINE = {{engine "MergeTree"}}
PARTITION BY toYYYYMM(ts)
ORDER BY (source, ts)
TTL toDateTime(ts) + INTERVAL {{retention_days}} DAY DELETE
COMMENT 'messages the processor rejected';

{{distributed "dead_letters" "rand()"}};
