// Package detector is mcptrail's streaming detection engine. It keeps a
// bounded state per MCP session (the tools each server listed, the calls
// made, what their results said) and runs detections on every event: data
// flowing from tool results out through later calls, instructions aimed at
// the model in tool results and the calls that follow them, poisoned or
// changed tool definitions, one tool name served twice, token misuse, and
// improbable tool-call chains. Each finding has a stable rule id, a
// severity, a title and evidence.
//
// The engine reads capture records (schemas.Record) one at a time, from a
// file (`mcptrail detect --input`) or from the bus (`--bus`). Its siblings:
// rules/ (the YAML rule format and the built-in rules), textscan/ (text
// analyses), seqmodel/ (the tool-transition model) and alert/ (outputs).
package detector
