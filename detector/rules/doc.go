// Package rules is the detector's rule format: YAML files that declare tool
// classes (what a tool does, judged from its name, description and
// annotations), pattern rules (a regular expression over call arguments,
// tool results or tool definitions) and sequence rules ("a call of this
// class, then one of that class within N calls, carrying its data"). The
// built-in rules are the YAML files in this folder, embedded in the
// binary; `mcptrail detect --rules DIR` adds a folder of one's own.
package rules
