-- 0006 chain_frame: what `mcptrail verify` needs to recompute a chained
-- record's hash from the stored rows, and a smaller events table.
--
-- A chain value is SHA-256 over the previous value and the record's
-- canonical bytes (schemas.Record.CanonicalBytes: the whole capture line
-- without its chain member). The event columns keep only part of a record
-- (no JSON-RPC envelope, no HTTP headers, no unknown members...), so they
-- are not enough. Storing the canonical bytes again would nearly double the
-- stored size, because params and result are most of a record. So the
-- processor stores, on the first row of each chained record, the canonical
-- bytes with the params and result of its rows cut out (chain_frame, small
-- and repetitive: it compresses well) and where to put them back
-- (chain_cuts: pairs of frame offset and source, source = 2 * row + 0 for
-- params or + 1 for result, rows counted in batch_index order within the
-- record). An empty chain_cuts means the frame is the whole record. Unchained
-- rows leave both empty, which costs next to nothing.
--
-- verify rebuilds each record from frame + params + result, so an edit of
-- params, result, chain or the frame breaks the chain; it also re-derives
-- the identifying columns from the rebuilt record and compares them.
ALTER TABLE {{local "events"}} {{on_cluster}}
    ADD COLUMN IF NOT EXISTS chain_frame String CODEC(ZSTD(3)) COMMENT 'canonical bytes of a chained record minus the params/result of its rows (first row only)' AFTER chain,
    ADD COLUMN IF NOT EXISTS chain_cuts Array(UInt32) COMMENT 'pairs (offset in chain_frame, 2*row + 0 params / 1 result)' AFTER chain_frame;

{{if on_cluster}}ALTER TABLE {{db}}.events {{on_cluster}}
    ADD COLUMN IF NOT EXISTS chain_frame String AFTER chain,
    ADD COLUMN IF NOT EXISTS chain_cuts Array(UInt32) AFTER chain_frame;{{end}}

-- Size (goal: the parts on disk at most 1/8 of the raw capture; on the dev
-- data set they took 1/7.5). Codecs and skip indexes apply to parts written
-- from now on; older parts change when merged (or run ALTER TABLE ...)
-- MATERIALIZE INDEX idx_params and idx_result for the indexes.
--  * params and result (most of the bytes) move from ZSTD(3) to ZSTD(12):
--    about 7 % smaller; ClickHouse pays the CPU once, at insert and merge.
--  * session, rpc_id and target were LZ4 (the default); ZSTD(3) halves them.
--    latency_us is mostly 0 or small: T64 then ZSTD.
--  * The token bloom filters over params and result were 32 KiB per two
--    granules: the same bits per row as 16 KiB per granule, which also skips
--    at finer grain, and which costs half as much in a small part (a part
--    holds at least one filter, and daily partitions make small parts).
ALTER TABLE {{local "events"}} {{on_cluster}}
    MODIFY COLUMN IF EXISTS params CODEC(ZSTD(12)),
    MODIFY COLUMN IF EXISTS result CODEC(ZSTD(12)),
    MODIFY COLUMN IF EXISTS session CODEC(ZSTD(3)),
    MODIFY COLUMN IF EXISTS rpc_id CODEC(ZSTD(3)),
    MODIFY COLUMN IF EXISTS target CODEC(ZSTD(3)),
    MODIFY COLUMN IF EXISTS latency_us CODEC(T64, ZSTD(1));

ALTER TABLE {{local "events"}} {{on_cluster}} DROP INDEX IF EXISTS idx_params, DROP INDEX IF EXISTS idx_result;

ALTER TABLE {{local "events"}} {{on_cluster}}
    ADD INDEX IF NOT EXISTS idx_params params TYPE tokenbf_v1(16384, 3, 0) GRANULARITY 1,
    ADD INDEX IF NOT EXISTS idx_result result TYPE tokenbf_v1(16384, 3, 0) GRANULARITY 1;
