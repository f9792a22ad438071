-- 0002 tool_catalog: every distinct tool definition each server has offered.
--
-- One row per (server_name, tool_name, description_hash, schema_hash): a
-- definition seen again only moves last_seen and times_seen, while a changed
-- description or input schema (a "rug pull", a poisoned update) is a NEW row
-- for the same tool name, so changes stand out (see the tool_changes view).
-- AggregatingMergeTree with SimpleAggregateFunction columns: rows merge by
-- min/max/sum/union, yet plain values can be inserted directly (the detector or
-- a backfill may write here), and a reader groups by the key to merge what
-- has not been merged yet.
-- Hashes are hex SHA-256: of the description text, and of the inputSchema
-- JSON as the server sent it (so a re-ordered but equal schema counts as a
-- change; servers send stable JSON in practice, and a false "change" is the
-- safe error for an audit).
CREATE TABLE IF NOT EXISTS {{local "tool_catalog"}} {{on_cluster}}
(
    server_name      LowCardinality(String),
    tool_name        String,
    description_hash FixedString(64) COMMENT 'hex SHA-256 of description',
    schema_hash      FixedString(64) COMMENT 'hex SHA-256 of the inputSchema JSON text',
    description      SimpleAggregateFunction(any, String) CODEC(ZSTD(3)),
    input_schema     SimpleAggregateFunction(any, String) CODEC(ZSTD(3)) COMMENT 'inputSchema JSON',
    title            SimpleAggregateFunction(any, String),
    annotations      SimpleAggregateFunction(any, String) COMMENT 'annotations JSON (readOnlyHint, destructiveHint, ...)',
    server_versions  SimpleAggregateFunction(groupUniqArrayArray, Array(String)) COMMENT 'server versions that offered this definition',
    hosts            SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    first_seen       SimpleAggregateFunction(min, DateTime64(6, 'UTC')),
    last_seen        SimpleAggregateFunction(max, DateTime64(6, 'UTC')),
    times_seen       SimpleAggregateFunction(sum, UInt64) COMMENT 'tools/list results that carried it'
)
ENGINE = {{engine "AggregatingMergeTree"}}
ORDER BY (server_name, tool_name, description_hash, schema_hash)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'distinct tool definitions per server; a new hash row for a tool name is a change';

{{distributed "tool_catalog" "xxHash64(server_name, tool_name)"}};

-- Fills tool_catalog from the tools/list results in events (the processor's
-- pairing puts method = tools/list on the result row). Nothing else has to
-- write the catalog.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.tool_catalog_mv {{on_cluster}}
TO {{local "tool_catalog"}}
AS SELECT
    server_name,
    JSONExtractString(tool, 'name')                          AS tool_name,
    lower(hex(SHA256(JSONExtractString(tool, 'description')))) AS description_hash,
    lower(hex(SHA256(JSONExtractRaw(tool, 'inputSchema'))))    AS schema_hash,
    any(JSONExtractString(tool, 'description'))               AS description,
    any(JSONExtractRaw(tool, 'inputSchema'))                  AS input_schema,
    any(JSONExtractString(tool, 'title'))                     AS title,
    any(JSONExtractRaw(tool, 'annotations'))                  AS annotations,
    groupUniqArray(toString(server_version))                  AS server_versions,
    groupUniqArray(toString(host))                            AS hosts,
    min(ts)                                                   AS first_seen,
    max(ts)                                                   AS last_seen,
    toUInt64(count())                                         AS times_seen
FROM {{local "events"}}
ARRAY JOIN JSONExtractArrayRaw(result, 'tools') AS tool
WHERE method = 'tools/list' AND kind = 'result' AND tool_name != ''
GROUP BY server_name, tool_name, description_hash, schema_hash;

-- tool_catalog merged: one row per definition.
CREATE VIEW IF NOT EXISTS {{db}}.tool_definitions {{on_cluster}}
AS SELECT
    server_name, tool_name, description_hash, schema_hash,
    any(description) AS description, any(input_schema) AS input_schema,
    any(title) AS title, any(annotations) AS annotations,
    groupUniqArrayArray(server_versions) AS server_versions,
    groupUniqArrayArray(hosts) AS hosts,
    min(first_seen) AS first_seen, max(last_seen) AS last_seen,
    sum(times_seen) AS times_seen
FROM {{db}}.tool_catalog
GROUP BY server_name, tool_name, description_hash, schema_hash;

-- Tools whose definition changed: more than one distinct definition under
-- one name on one server, with when each was first and last seen.
CREATE VIEW IF NOT EXISTS {{db}}.tool_changes {{on_cluster}}
AS SELECT
    server_name, tool_name,
    count() AS definitions,
    groupArray((description_hash, schema_hash, first_seen, last_seen)) AS history
FROM {{db}}.tool_definitions
GROUP BY server_name, tool_name
HAVING definitions > 1;
