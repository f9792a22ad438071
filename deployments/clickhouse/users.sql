-- mcptrail least-privilege ClickHouse users. Apply as an administrator
-- (see README.md) after `mcptrail migrate` has created the tables.
--
-- Placeholders, substituted before applying:
--   {{db}}                      database of the mcptrail tables (mcptrail)
--   {{writer_password_sha256}}  hex SHA-256 of the writer's password
--   {{reader_password_sha256}}  hex SHA-256 of the reader's password
-- (echo -n "$PASSWORD" | sha256sum). Only hashes are written here, so the
-- passwords never appear in this file, the shell history or query_log.

-- Writer profile: for the processor and the detector. Retried batches carry
-- insert_deduplication_token; with this setting the materialized views drop
-- a deduplicated block too, so rollups are not counted twice.
CREATE SETTINGS PROFILE IF NOT EXISTS mcptrail_writer_profile
SETTINGS deduplicate_blocks_in_dependent_materialized_views = 1,
         insert_deduplicate = 1,
         max_execution_time = 60;

-- Reader profile: for Grafana. readonly = 2 forbids any write or DDL but
-- lets the client change settings (the Grafana data sources need that);
-- the constraints cap what it can raise.
CREATE SETTINGS PROFILE IF NOT EXISTS mcptrail_reader_profile
SETTINGS readonly = 2,
         max_execution_time = 60 MAX 300,
         max_memory_usage = 4000000000 MAX 8000000000,
         max_result_rows = 1000000,
         max_rows_to_read = 2000000000;

-- Writer: inserts audit rows; reads schema_migrations to check the schema
-- version it was built for. No DDL, no reads of the data.
CREATE USER IF NOT EXISTS mcptrail_writer
IDENTIFIED WITH sha256_hash BY '{{writer_password_sha256}}'
SETTINGS PROFILE 'mcptrail_writer_profile';

-- Reader: Grafana dashboards and the investigation plugin.
CREATE USER IF NOT EXISTS mcptrail_reader
IDENTIFIED WITH sha256_hash BY '{{reader_password_sha256}}'
SETTINGS PROFILE 'mcptrail_reader_profile';

GRANT INSERT ON {{db}}.events TO mcptrail_writer;
GRANT INSERT ON {{db}}.findings TO mcptrail_writer;
GRANT INSERT ON {{db}}.tool_catalog TO mcptrail_writer;
GRANT INSERT ON {{db}}.pipeline_metrics TO mcptrail_writer;
GRANT INSERT ON {{db}}.chain_problems TO mcptrail_writer;
GRANT INSERT ON {{db}}.dead_letters TO mcptrail_writer;
GRANT SELECT ON {{db}}.schema_migrations TO mcptrail_writer;

-- The reader sees every table and view of the database (events carry
-- redacted params and results; restrict with row policies if needed).
GRANT SELECT ON {{db}}.* TO mcptrail_reader;
