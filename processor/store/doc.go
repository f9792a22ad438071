// Package store connects mcptrail to ClickHouse with clickhouse-go v2: it
// opens connections from a URL (Open), runs the schema migrations of
// schemas/clickhouse on a connection (Executor), and writes the processor's
// column batches into the events table (Writer).
//
// The URL selects the protocol: clickhouse://user:pass@host:9000/db (or
// tcp://) for the native protocol, http://host:8123/db or https://… for the
// HTTP interface. Query parameters are clickhouse-go's DSN options
// (secure, skip_verify, compress, dial_timeout, …); any other parameter is
// sent as a ClickHouse setting.
package store
