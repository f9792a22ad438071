-- Bootstrap: run by Apply before anything else, on every run (every statement
-- is idempotent). It creates the database and the migration ledger that
-- Apply reads to decide what is pending.
CREATE DATABASE IF NOT EXISTS {{db}} {{on_cluster}};

-- schema_migrations: one row per applied migration (version, file name,
-- SHA-256 of the file as embedded, time applied). Apply refuses to run when
-- an applied migration's checksum differs from the embedded file: a shipped
-- migration is never edited, a change is a new migration.
-- ReplacingMergeTree(applied_at) keyed on version: recording a version twice
-- (a crash between the last statement and the insert, then a re-run) leaves
-- one row after merges; readers use argMax/FINAL.
-- On a cluster it is one replicated table shared by every node (ZooKeeper
-- path without {shard}), not sharded: every node sees the whole ledger.
CREATE TABLE IF NOT EXISTS {{db}}.schema_migrations {{on_cluster}}
(
    version    UInt32 COMMENT 'migration number, the NNNN of NNNN_name.sql',
    name       String COMMENT 'file name without .sql',
    checksum   FixedString(64) COMMENT 'hex SHA-256 of the migration file as embedded',
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{global_engine "ReplacingMergeTree" "applied_at"}}
ORDER BY version
COMMENT 'migrations applied by mcptrail migrate';
