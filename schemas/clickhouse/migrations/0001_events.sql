-- 0001 events: the audit log, one row per MCP message (a JSON-RPC batch gives
-- one row per element), or per HTTP-only / OAuth / unparsable record. Mirrors
-- schemas.Event; the processor fills it.
--
-- Idempotent storage (delivery is at-least-once end to end). We use BOTH:
--  1. Insert deduplication tokens. The processor sets insert_deduplication_token
--     to a hash of the batch's event ids, so a batch retried after a timeout
--     (the insert may or may not have landed) is dropped whole by the server
--     and never stored twice. Replicated tables keep the last
--     replicated_deduplication_window block hashes in Keeper; single-node
--     MergeTree only deduplicates with non_replicated_deduplication_window > 0,
--     hence the table setting below (it is ignored by Replicated engines).
--     Writers should also set deduplicate_blocks_in_dependent_materialized_views=1
--     (the writer profile in deployments/clickhouse/users.sql does) so the
--     rollups drop the retried block too.
--  2. ReplacingMergeTree(inserted_at) with event_id in the sorting key. A
--     token only covers an identical batch within the window; a replay of a
--     capture file or a bus rewind re-batches differently. event_id is xxhash64
--     over the fields that identify the message, so a replayed row has the same
--     sorting key and merges collapse it (last inserted_at wins). Until a merge
--     runs, readers that need exact counts use FINAL (cheap here: partitions
--     are daily and do_not_merge_across_partitions_select_final applies) or
--     count(DISTINCT event_id). Rollups count distinct event ids for the same
--     reason (0003).
--
-- Sorting key (server_name, session, ts, event_id): investigators start from a
-- server or a session and read it in time order; server_name is low
-- cardinality so it costs little as a prefix and clusters each server's rows
-- (better compression of params/result, whose shapes repeat per server);
-- session then ts gives a session's timeline as one contiguous range; event_id
-- last makes the key unique per message (needed by ReplacingMergeTree). A
-- lookup by session alone (server unknown) uses the generic exclusion search
-- on the second key column plus the session bloom filter. Time-range queries
-- prune by the daily partition. The primary index holds only the first three
-- columns to stay small.
--
-- Contract with the processor's request/response pairing: on a result or
-- error row, method, category and target are copied from the paired request
-- and latency_us is set, so per-tool rollups see errors and latency on the
-- response rows.
CREATE TABLE IF NOT EXISTS {{local "events"}} {{on_cluster}}
(
    event_id        UInt64 COMMENT 'xxhash64 over the identifying fields, stable across replays',
    ts              DateTime64(6, 'UTC') CODEC(DoubleDelta, ZSTD(1)) COMMENT 'capture time at the collector',
    host            LowCardinality(String) COMMENT 'machine the collector runs on',
    session         String COMMENT 'MCP session (Mcp-Session-Id or collector-made id)',
    client_name     LowCardinality(String),
    client_version  LowCardinality(String),
    server_name     LowCardinality(String),
    server_version  LowCardinality(String),
    server_command  LowCardinality(String) COMMENT 'what ran, for stdio servers',
    server_url      LowCardinality(String) COMMENT 'endpoint, for HTTP servers',
    transport       LowCardinality(String) COMMENT 'stdio, streamable-http, sse',
    dir             LowCardinality(String) COMMENT 'c2s or s2c',
    kind            LowCardinality(String) COMMENT 'request, notification, result, error, invalid, http, auth, parse_error',
    method          LowCardinality(String) COMMENT 'JSON-RPC method; on responses copied from the paired request',
    category        LowCardinality(String) COMMENT 'MCP feature of method (schemas/mcp taxonomy)',
    rpc_id          String COMMENT 'JSON-RPC id as JSON text',
    batch_index     Int16 DEFAULT -1 COMMENT 'position in a JSON-RPC batch, -1 if none',
    target          String COMMENT 'tool, prompt or resource URI the request acts on',
    params          String CODEC(ZSTD(3)) COMMENT 'params JSON, after redaction',
    result          String CODEC(ZSTD(3)) COMMENT 'result JSON, after redaction',
    is_error        Bool COMMENT 'error response, or tool result with isError',
    error_code      Int64,
    error_message   String CODEC(ZSTD(3)),
    invalid         String COMMENT 'why the message breaks JSON-RPC 2.0, or the parse error',
    latency_us      UInt64 COMMENT 'request to this response, 0 if not a paired response',
    msg_bytes       UInt32 CODEC(T64, ZSTD(1)),
    http_method     LowCardinality(String),
    http_path       LowCardinality(String),
    http_status     UInt16,
    token_fp        String COMMENT 'HMAC-SHA256 fingerprint of the bearer token (hex), never the token',
    token_kind      LowCardinality(String) COMMENT 'jwt or opaque',
    token_iss       LowCardinality(String),
    token_sub       String,
    token_aud       Array(String),
    token_client_id LowCardinality(String),
    token_scope     String,
    token_exp       DateTime('UTC') COMMENT 'unverified exp claim, 1970 if none',
    auth_type       LowCardinality(String) COMMENT 'OAuth event type',
    auth_endpoint   String,
    auth_resource   String,
    auth_code_challenge_method LowCardinality(String),
    auth_redirect_uri String,
    redacted        Array(String) COMMENT 'paths redacted by the collector',
    stream          String COMMENT 'collector stream id (hash chain)',
    seq             UInt64 COMMENT 'position in the stream, from 1',
    chain           String COMMENT 'hex SHA-256 chain value; String not FixedString(64) so that unchained rows stay empty',
    attrs           Map(LowCardinality(String), String) COMMENT 'extensions without a column yet',
    inserted_at     DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'ingest time; the ReplacingMergeTree version',

    -- Skip indexes for what investigators search. The key covers server and
    -- session-within-server; these cover the other ways in.
    INDEX idx_session  session  TYPE bloom_filter(0.01)       GRANULARITY 4,
    INDEX idx_target   target   TYPE bloom_filter(0.01)       GRANULARITY 4,
    INDEX idx_method   method   TYPE set(256)                 GRANULARITY 4,
    INDEX idx_token_fp token_fp TYPE bloom_filter(0.001)      GRANULARITY 4,
    INDEX idx_token_sub token_sub TYPE bloom_filter(0.01)     GRANULARITY 4,
    INDEX idx_host     host     TYPE set(1024)                GRANULARITY 4,
    INDEX idx_stream   stream   TYPE bloom_filter(0.01)       GRANULARITY 4,
    -- Token bloom filters for hasToken()/LIKE/multiSearchAny over the JSON text
    -- (a path, a hostname, an e-mail in tool arguments or results).
    INDEX idx_params   params   TYPE tokenbf_v1(32768, 3, 0)  GRANULARITY 2,
    INDEX idx_result   result   TYPE tokenbf_v1(32768, 3, 0)  GRANULARITY 2,
    INDEX idx_errmsg   error_message TYPE tokenbf_v1(8192, 3, 0) GRANULARITY 4
)
ENGINE = {{engine "ReplacingMergeTree" "inserted_at"}}
PARTITION BY toDate(ts)
PRIMARY KEY (server_name, session, ts)
ORDER BY (server_name, session, ts, event_id)
TTL toDateTime(ts) + INTERVAL {{retention_days}} DAY DELETE
SETTINGS index_granularity = 8192,
         non_replicated_deduplication_window = 1000,
         ttl_only_drop_parts = 1
COMMENT 'MCP audit events, one row per message';

-- On a cluster: the public name is a Distributed table over events_local,
-- sharded by session so that one session's rows (and its rollups, which the
-- materialized views build on the local tables) live on one shard.
{{distributed "events" "xxHash64(session)"}};
