-- 0003 rollups: materialized views over events into AggregatingMergeTree
-- tables of -State columns, with a view per rollup that reads them with
-- -Merge. Dashboards read the views, not events.
--
-- Counts are uniq*(event_id), not count(): a replay that escapes insert
-- deduplication (a re-batched capture file) inserts the same event ids
-- again, and a distinct count over ids stays right, matching events FINAL.
-- Per session the count is exact (uniqExact; a session is small); per token
-- and per tool-hour it is uniq (exact up to 65536 per group, then within
-- about 2 %). Latency quantiles are t-digest states (a replayed response
-- only adds weight to the same value).
-- Each rollup carries a time bucket in its key (month for sessions and
-- tokens, hour for tools) so it can be partitioned and expire with TTL; the
-- views merge the buckets.
-- On a cluster the views write into the shard-local tables (events are
-- sharded by session) and the Distributed tables merge across shards.

-- Per session: first/last message, counts, who took part.
CREATE TABLE IF NOT EXISTS {{local "session_rollup"}} {{on_cluster}}
(
    session     String,
    month       Date COMMENT 'toStartOfMonth(ts): bucket for partitioning and TTL',
    first_ts    AggregateFunction(min, DateTime64(6, 'UTC')),
    last_ts     AggregateFunction(max, DateTime64(6, 'UTC')),
    messages    AggregateFunction(uniqExact, UInt64),
    tool_calls  AggregateFunction(uniqExact, UInt64),
    errors      AggregateFunction(uniqExact, UInt64),
    bytes       AggregateFunction(sum, UInt64) COMMENT 'msg_bytes; a replay beyond the dedup window adds twice',
    servers     AggregateFunction(groupUniqArray, String),
    clients     AggregateFunction(groupUniqArray, String),
    hosts       AggregateFunction(groupUniqArray, String),
    tools       AggregateFunction(groupUniqArray, String),
    token_fps   AggregateFunction(groupUniqArray, String)
)
ENGINE = {{engine "AggregatingMergeTree"}}
PARTITION BY toYYYYMM(month)
ORDER BY (session, month)
TTL month + INTERVAL {{retention_days}} DAY DELETE
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'per-session rollup of events (-State columns; read session_summary)';

{{distributed "session_rollup" "xxHash64(session)"}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.session_rollup_mv {{on_cluster}}
TO {{local "session_rollup"}}
AS SELECT
    session,
    toStartOfMonth(ts)                                                AS month,
    minState(ts)                                                      AS first_ts,
    maxState(ts)                                                      AS last_ts,
    uniqExactState(event_id)                                          AS messages,
    uniqExactStateIf(event_id, kind = 'request' AND method = 'tools/call') AS tool_calls,
    uniqExactStateIf(event_id, is_error OR kind IN ('error', 'invalid', 'parse_error')) AS errors,
    sumState(toUInt64(msg_bytes))                                     AS bytes,
    groupUniqArrayStateIf(toString(server_name), server_name != '')   AS servers,
    groupUniqArrayStateIf(toString(client_name), client_name != '')   AS clients,
    groupUniqArrayStateIf(toString(host), host != '')                 AS hosts,
    groupUniqArrayStateIf(target, kind = 'request' AND method = 'tools/call' AND target != '') AS tools,
    groupUniqArrayStateIf(token_fp, token_fp != '')                   AS token_fps
FROM {{local "events"}}
GROUP BY session, month;

CREATE VIEW IF NOT EXISTS {{db}}.session_summary {{on_cluster}}
AS SELECT
    session,
    minMerge(first_ts)            AS first_ts,
    maxMerge(last_ts)             AS last_ts,
    uniqExactMerge(messages)      AS messages,
    uniqExactMerge(tool_calls)    AS tool_calls,
    uniqExactMerge(errors)        AS errors,
    sumMerge(bytes)               AS bytes,
    groupUniqArrayMerge(servers)  AS servers,
    groupUniqArrayMerge(clients)  AS clients,
    groupUniqArrayMerge(hosts)    AS hosts,
    groupUniqArrayMerge(tools)    AS tools,
    groupUniqArrayMerge(token_fps) AS token_fps
FROM {{db}}.session_rollup
GROUP BY session;

-- Per token fingerprint x server: where and how much a token is used (a
-- token seen on a new server or host is a misuse signal).
CREATE TABLE IF NOT EXISTS {{local "token_rollup"}} {{on_cluster}}
(
    token_fp    String,
    server_name LowCardinality(String),
    month       Date,
    first_seen  AggregateFunction(min, DateTime64(6, 'UTC')),
    last_seen   AggregateFunction(max, DateTime64(6, 'UTC')),
    calls       AggregateFunction(uniq, UInt64) COMMENT 'requests carrying the token',
    sessions    AggregateFunction(uniq, String),
    hosts       AggregateFunction(groupUniqArray, String),
    subjects    AggregateFunction(groupUniqArray, String) COMMENT 'unverified sub claims',
    client_ids  AggregateFunction(groupUniqArray, String)
)
ENGINE = {{engine "AggregatingMergeTree"}}
PARTITION BY toYYYYMM(month)
ORDER BY (token_fp, server_name, month)
TTL month + INTERVAL {{retention_days}} DAY DELETE
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'per token fingerprint x server rollup (-State columns; read token_usage)';

{{distributed "token_rollup" "xxHash64(token_fp)"}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.token_rollup_mv {{on_cluster}}
TO {{local "token_rollup"}}
AS SELECT
    token_fp,
    server_name,
    toStartOfMonth(ts)                                   AS month,
    minState(ts)                                         AS first_seen,
    maxState(ts)                                         AS last_seen,
    uniqStateIf(event_id, kind = 'request')              AS calls,
    uniqState(session)                                   AS sessions,
    groupUniqArrayState(toString(host))                  AS hosts,
    groupUniqArrayStateIf(token_sub, token_sub != '')    AS subjects,
    groupUniqArrayStateIf(toString(token_client_id), token_client_id != '') AS client_ids
FROM {{local "events"}}
WHERE token_fp != ''
GROUP BY token_fp, server_name, month;

CREATE VIEW IF NOT EXISTS {{db}}.token_usage {{on_cluster}}
AS SELECT
    token_fp, server_name,
    minMerge(first_seen)           AS first_seen,
    maxMerge(last_seen)            AS last_seen,
    uniqMerge(calls)               AS calls,
    uniqMerge(sessions)            AS sessions,
    groupUniqArrayMerge(hosts)     AS hosts,
    groupUniqArrayMerge(subjects)  AS subjects,
    groupUniqArrayMerge(client_ids) AS client_ids
FROM {{db}}.token_rollup
GROUP BY token_fp, server_name;

-- Per tool per hour: calls from requests; errors and latency from the
-- paired responses (method and target copied onto them by the processor).
CREATE TABLE IF NOT EXISTS {{local "tool_hourly"}} {{on_cluster}}
(
    server_name LowCardinality(String),
    tool        String,
    hour        DateTime('UTC'),
    calls       AggregateFunction(uniq, UInt64),
    errors      AggregateFunction(uniq, UInt64),
    responses   AggregateFunction(uniq, UInt64),
    sessions    AggregateFunction(uniq, String),
    latency     AggregateFunction(quantilesTDigest(0.5, 0.9, 0.99), UInt64) COMMENT 'latency_us of the responses',
    max_latency_us AggregateFunction(max, UInt64),
    result_bytes AggregateFunction(sum, UInt64)
)
ENGINE = {{engine "AggregatingMergeTree"}}
PARTITION BY toYYYYMM(hour)
ORDER BY (server_name, tool, hour)
TTL hour + INTERVAL {{retention_days}} DAY DELETE
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'per tool per hour rollup (-State columns; read tool_hourly_stats)';

{{distributed "tool_hourly" "xxHash64(server_name, tool)"}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.tool_hourly_mv {{on_cluster}}
TO {{local "tool_hourly"}}
AS SELECT
    server_name,
    target                                                      AS tool,
    toStartOfHour(ts)                                           AS hour,
    uniqStateIf(event_id, kind = 'request')                     AS calls,
    uniqStateIf(event_id, kind IN ('result', 'error') AND is_error) AS errors,
    uniqStateIf(event_id, kind IN ('result', 'error'))          AS responses,
    uniqState(session)                                          AS sessions,
    quantilesTDigestStateIf(0.5, 0.9, 0.99)(latency_us, kind IN ('result', 'error') AND latency_us > 0) AS latency,
    maxStateIf(latency_us, kind IN ('result', 'error'))         AS max_latency_us,
    sumStateIf(toUInt64(msg_bytes), kind IN ('result', 'error')) AS result_bytes
FROM {{local "events"}}
WHERE method = 'tools/call' AND target != ''
GROUP BY server_name, tool, hour;

CREATE VIEW IF NOT EXISTS {{db}}.tool_hourly_stats {{on_cluster}}
AS SELECT
    server_name, tool, hour,
    uniqMerge(calls)      AS calls,
    uniqMerge(errors)     AS errors,
    uniqMerge(responses)  AS responses,
    uniqMerge(sessions)   AS sessions,
    quantilesTDigestMerge(0.5, 0.9, 0.99)(latency) AS latency_quantiles_us,
    maxMerge(max_latency_us) AS max_latency_us,
    sumMerge(result_bytes) AS result_bytes
FROM {{db}}.tool_hourly
GROUP BY server_name, tool, hour;
