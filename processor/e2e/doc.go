// Package e2e holds the processor's end-to-end benchmark: the dev data set
// replayed through an embedded NATS JetStream server and the pipeline
// `mcptrail process` runs (processor.Processor with its bus consumer) into
// the ClickHouse engine (the chDB bridge), or into a sink that discards
// the rows, which shows what the bus and the processor manage alone.
package e2e
