package detector

import (
	"time"

	"github.com/mcptrail/mcptrail/detector/textscan"
	"github.com/mcptrail/mcptrail/schemas"
	"github.com/mcptrail/mcptrail/schemas/mcp"
)

// Call is one tools/call (or other request) a session made, with what its
// response said once it came.
type Call struct {
	// Index is the call's position among the session's tool calls (0 first).
	Index  int
	ID     string // JSON-RPC id, as its JSON text
	TS     time.Time
	Server string
	Method string
	Tool   string // the tool, prompt or resource the request acts on
	// Classes are the tool classes (rules.Class names) of Tool.
	Classes []string
	// Answered is set once the response came.
	Answered bool
	IsError  bool
	// Injection is the scoring of the result text (shared: read only), nil
	// when no text of the result scored; injectionLeaf the index in Result
	// of the leaf that scored it.
	Injection     *textscan.Injection
	injectionLeaf int

	// args and result are what the engine decoded from the arguments and
	// the result, with what it derived from each of their texts (shared
	// with every call that carries the same JSON: read only); nil for other
	// requests and before the response.
	args, result *decodedLeaves

	// carried caches CarriedFrom.
	carried []Carried
}

// Args are the string leaves of the arguments (shared: read only).
func (c *Call) Args() []textscan.Leaf { return c.args.leafList() }

// Result are the text leaves of the result, once it came (shared: read
// only).
func (c *Call) Result() []textscan.Leaf { return c.result.leafList() }

// argTexts and resultTexts are the leafTexts of Args and Result.
func (c *Call) argTexts() []*leafText    { return c.args.textList() }
func (c *Call) resultTexts() []*leafText { return c.result.textList() }

// ArgText is the call's argument strings, each followed by a newline.
func (c *Call) ArgText() string {
	if c.args == nil {
		return ""
	}
	return c.args.argText()
}

// lowerArgText is ArgText lower-cased, without its last newline.
func (c *Call) lowerArgText() string {
	if c.args == nil {
		return ""
	}
	return c.args.lowerText()
}

// LeafValues are the concrete values (textscan.Values) of each argument
// leaf, in the order of Args. The slices are shared: callers must not
// change them.
func (c *Call) LeafValues() [][]textscan.Value {
	if c.args == nil {
		return nil
	}
	return c.args.leafValues()
}

// Is reports whether the call's tool is in class.
func (c *Call) Is(class string) bool {
	for _, k := range c.Classes {
		if k == class {
			return true
		}
	}
	return false
}

// Tool is one tool definition from a tools/list result.
type Tool struct {
	Server      string
	Name        string
	Description string
	// Schema is the inputSchema's JSON text.
	Schema string
	// Annotations is the annotations' JSON text, if any.
	Annotations string
	// Hash is xxhash64 over name, description and schema.
	Hash uint64
}

// Observation is one event as the detections see it, with what the engine
// decoded from it.
type Observation struct {
	Event *schemas.Event
	// Record is the capture record the event came from.
	Record *schemas.Record
	// Call is the request for a tools/call (or other) request, or the request
	// a response answers (nil when it is unknown).
	Call *Call
	// Tools are the definitions of a tools/list result.
	Tools []Tool
	// toolList is the cached list Tools come from.
	toolList *decodedTools
}

// IsCall reports whether o is a client's request to call a tool.
func (o *Observation) IsCall() bool {
	return o.Call != nil && o.Event.Dir == schemas.ClientToServer && o.Event.Kind == schemas.EventKind(mcp.KindRequest) && o.Call.Method == "tools/call"
}

// IsToolResult reports whether o is the response to a tools/call.
func (o *Observation) IsToolResult() bool {
	return o.Call != nil && o.Event.Dir == schemas.ServerToClient && (o.Event.Kind == schemas.EventKind(mcp.KindResult) || o.Event.Kind == schemas.EventKind(mcp.KindError)) && o.Call.Method == "tools/call"
}
