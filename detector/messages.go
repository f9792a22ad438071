package detector

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/mcptrail/mcptrail/detector/textscan"
	"github.com/mcptrail/mcptrail/schemas/mcp"
)

// messageCache keeps what the engine decodes from the JSON of records'
// messages, tool calls' arguments, tool results and tool lists, by the
// JSON's bytes: the same messages, calls, results and lists come again and
// again, in many sessions. What it returns is shared, and nobody changes
// it.
type messageCache struct {
	texts *textCache
	// parsed, args, results and lists are keyed by the xxhash64 of the
	// JSON (and, for lists, of the server name); bytes counts the JSON
	// they hold.
	parsed        map[uint64]*parsedMessage
	args, results map[uint64]*decodedLeaves
	lists         map[uint64]*decodedTools
	bytes         int
}

// parsedMessage is what mcp.AppendParse made of a record's msg, and the
// arguments or result of each of its messages once the engine looked them
// up (so that a message seen again is neither walked nor hashed again).
type parsedMessage struct {
	raw   []byte
	msgs  []mcp.Message // Params and Result are slices of raw
	batch bool
	err   error
	// kept is set when raw is the cache's own copy: slices of it outlive
	// the record.
	kept bool
	// decoded holds, per message, its callArgs or toolResult.
	decoded []*decodedLeaves
	// one and oneDecoded hold msgs and decoded for a message that is not
	// a batch, saving two allocations.
	one        [1]mcp.Message
	oneDecoded [1]*decodedLeaves
	// tools is the toolList of the result of a message that is not a
	// batch, as listed by tools.server (such a result is seen again and
	// again, from one server).
	tools *decodedTools
}

// callArgs is messageCache.callArgs of message i's params.
func (p *parsedMessage) callArgs(mc *messageCache, i int) *decodedLeaves {
	if p.decoded[i] == nil {
		p.decoded[i] = mc.callArgs(p.msgs[i].Params, p.kept)
	}
	return p.decoded[i]
}

// toolList is messageCache.toolList of message i's result, listed by
// server.
func (p *parsedMessage) toolList(mc *messageCache, i int, server string) *decodedTools {
	if p.batch {
		return mc.toolList(server, p.msgs[i].Result, p.kept)
	}
	if p.tools == nil || p.tools.server != server {
		p.tools = mc.toolList(server, p.msgs[i].Result, p.kept)
	}
	return p.tools
}

// toolResult is messageCache.toolResult of message i's result.
func (p *parsedMessage) toolResult(mc *messageCache, i int) *decodedLeaves {
	if p.decoded[i] == nil {
		p.decoded[i] = mc.toolResult(p.msgs[i].Result, p.kept)
	}
	return p.decoded[i]
}

// decodedLeaves are the string leaves of a JSON value and their texts,
// with what the detections derive from all of them (made on first use).
type decodedLeaves struct {
	raw    []byte
	leaves []textscan.Leaf
	texts  []*leafText

	text    *string
	lower   *string
	values  [][]textscan.Value
	checked bool
	secrets []textscan.Secret
	encoded string
}

// leafList returns d's leaves (none for a nil d).
func (d *decodedLeaves) leafList() []textscan.Leaf {
	if d == nil {
		return nil
	}
	return d.leaves
}

// textList returns d's texts (none for a nil d).
func (d *decodedLeaves) textList() []*leafText {
	if d == nil {
		return nil
	}
	return d.texts
}

// argText is the leaves' strings, each followed by a newline.
func (d *decodedLeaves) argText() string {
	if d.text == nil {
		var b strings.Builder
		n := 0
		for _, l := range d.leaves {
			n += len(l.Text) + 1
		}
		b.Grow(n)
		for _, l := range d.leaves {
			b.WriteString(l.Text)
			b.WriteByte('\n')
		}
		s := b.String()
		d.text = &s
	}
	return *d.text
}

// lowerText is argText lower-cased, without its last newline.
func (d *decodedLeaves) lowerText() string {
	if d.lower == nil {
		s := strings.ToLower(strings.TrimSuffix(d.argText(), "\n"))
		d.lower = &s
	}
	return *d.lower
}

// leafValues are the values of each leaf's text.
func (d *decodedLeaves) leafValues() [][]textscan.Value {
	if d.values == nil {
		d.values = make([][]textscan.Value, len(d.texts))
		for i, t := range d.texts {
			d.values[i] = t.Values()
		}
	}
	return d.values
}

// payload returns the secrets and the encoded run in argText
// (textscan.Secrets and textscan.Encoded).
func (d *decodedLeaves) payload() ([]textscan.Secret, string) {
	if !d.checked {
		d.checked = true
		text := d.argText()
		d.secrets, d.encoded = textscan.Secrets(text), textscan.Encoded(text)
	}
	return d.secrets, d.encoded
}

// decodedTools are the tool definitions of a tools/list result, with
// the maps and names a session that lists them uses (made on first use
// and shared by every session that gets the same list: read only).
type decodedTools struct {
	server string
	raw    []byte
	tools  []Tool

	byName    map[string]*Tool
	names     []string // the keys of byName, sorted
	namesHash uint64   // toolNamesHash of names
}

// toolsByName maps each tool's name to its (last) definition.
func (d *decodedTools) toolsByName() map[string]*Tool {
	if d.byName == nil {
		d.byName = make(map[string]*Tool, len(d.tools))
		for i := range d.tools {
			d.byName[d.tools[i].Name] = &d.tools[i]
		}
	}
	return d.byName
}

// sortedNames returns the tool names, sorted, and their toolNamesHash.
func (d *decodedTools) sortedNames() ([]string, uint64) {
	if d.names == nil {
		d.names = sortedNames(d.toolsByName())
		d.namesHash = toolNamesHash(d.names)
	}
	return d.names, d.namesHash
}

// Bounds of a messageCache: the entries of each map and the JSON bytes of
// all (when full, it starts over), and the longest JSON it keeps.
const (
	maxMessages      = 8192
	maxMessageBytes  = 32 << 20
	maxCachedMessage = 64 << 10
)

func newMessageCache() *messageCache {
	return &messageCache{
		texts:   newTextCache(),
		parsed:  map[uint64]*parsedMessage{},
		args:    map[uint64]*decodedLeaves{},
		results: map[uint64]*decodedLeaves{},
		lists:   map[uint64]*decodedTools{},
	}
}

// parse returns what mcp.AppendParse makes of a record's msg, which must
// not be empty.
func (mc *messageCache) parse(msg []byte) *parsedMessage {
	key := sampledKey(msg)
	if p := mc.parsed[key]; p != nil && bytes.Equal(p.raw, msg) {
		return p
	}
	keep := mc.keep(len(mc.parsed), len(msg))
	p := &parsedMessage{raw: msg}
	if keep {
		p.raw, p.kept = bytes.Clone(msg), true
		mc.parsed[key] = p
	}
	p.msgs, p.batch, p.err = mcp.AppendParse(p.one[:0], p.raw)
	if p.decoded = p.oneDecoded[:]; len(p.msgs) > 1 {
		p.decoded = make([]*decodedLeaves, len(p.msgs))
	}
	return p
}

// callArgs returns the leaves of a tools/call request's arguments (none
// when params is not an object with them). stable tells that params is
// memory nobody changes (see cached).
func (mc *messageCache) callArgs(params jsontext.Value, stable bool) *decodedLeaves {
	return mc.cached(mc.args, params, stable, func() *decodedLeaves {
		var p struct {
			Arguments jsontext.Value `json:"arguments"`
		}
		d := &decodedLeaves{}
		if json.Unmarshal(params, &p, checkedJSON) == nil {
			d.leaves = textscan.AppendLeaves(nil, p.Arguments, "")
			d.texts = mc.texts.of(d.leaves)
		}
		return d
	})
}

// toolResult returns the leaves of a tools/call result (resultLeaves);
// stable is as for callArgs.
func (mc *messageCache) toolResult(result jsontext.Value, stable bool) *decodedLeaves {
	return mc.cached(mc.results, result, stable, func() *decodedLeaves {
		d := &decodedLeaves{leaves: resultLeaves(result)}
		d.texts = mc.texts.of(d.leaves)
		return d
	})
}

// toolList returns the definitions of a tools/list result (decodeTools);
// stable is as for callArgs.
func (mc *messageCache) toolList(server string, result jsontext.Value, stable bool) *decodedTools {
	key := xxhash.Sum64String(server) ^ xxhash.Sum64(result)*31
	if d := mc.lists[key]; d != nil && d.server == server && bytes.Equal(d.raw, result) {
		return d
	}
	d := &decodedTools{server: server, tools: decodeTools(server, result)}
	if mc.keep(len(mc.lists), len(result)) {
		d.raw = result
		if !stable {
			d.raw = bytes.Clone(result)
		}
		mc.lists[key] = d
	}
	return d
}

// cached returns m's entry for raw, made by decode on a miss. A stable
// raw is part of a message the cache keeps, and the entry shares it
// instead of copying it.
func (mc *messageCache) cached(m map[uint64]*decodedLeaves, raw []byte, stable bool, decode func() *decodedLeaves) *decodedLeaves {
	key := xxhash.Sum64(raw)
	if d := m[key]; d != nil && bytes.Equal(d.raw, raw) {
		return d
	}
	d := decode()
	if mc.keep(len(m), len(raw)) {
		d.raw = raw
		if !stable {
			d.raw = bytes.Clone(raw)
		}
		m[key] = d
	}
	return d
}

// keep reports whether a decoded message of n bytes is kept, in a map of
// entries entries; it makes room when needed.
func (mc *messageCache) keep(entries, n int) bool {
	if n > maxCachedMessage {
		return false
	}
	if entries >= maxMessages || mc.bytes+n > maxMessageBytes {
		clear(mc.parsed)
		clear(mc.args)
		clear(mc.results)
		clear(mc.lists)
		mc.bytes = 0
	}
	mc.bytes += n
	return true
}

// Layout of a sampledKey: the head and tail bytes of a long message and
// sampleSlices slices of sampleSlice bytes spread evenly between them.
const (
	sampleEnds   = 128
	sampleSlices = 16
	sampleSlice  = 16
	sampleBytes  = 2*sampleEnds + sampleSlices*sampleSlice
)

// sampledKey returns a key of msg that reads at most sampleBytes of it:
// msg whole when it is that short, else its length and samples (the
// records of one agent repeat whole messages, which differ from other
// messages near every part). Messages with one key may still differ, so
// a lookup by key must compare the bytes.
func sampledKey(msg []byte) uint64 {
	if len(msg) <= sampleBytes {
		return xxhash.Sum64(msg)
	}
	var buf [sampleBytes + 8]byte
	n := copy(buf[:], msg[:sampleEnds])
	n += copy(buf[n:], msg[len(msg)-sampleEnds:])
	mid := msg[sampleEnds : len(msg)-sampleEnds]
	step := len(mid) / sampleSlices
	for i := range sampleSlices {
		at := i * step
		n += copy(buf[n:], mid[at:min(at+sampleSlice, len(mid))])
	}
	binary.LittleEndian.PutUint64(buf[n:], uint64(len(msg)))
	return xxhash.Sum64(buf[:n+8])
}

// checkedJSON decodes a part of a message that mcp.AppendParse accepted:
// it has no duplicate member names, so they need no tracking.
var checkedJSON = jsontext.AllowDuplicateNames(true)

// resultLeaves returns the text of a tool result: its content's text (and
// resource text), structured content and any other string, without the
// content items' type tags.
func resultLeaves(result jsontext.Value) []textscan.Leaf {
	leaves := textscan.AppendLeaves(nil, result, "")
	return slices.DeleteFunc(leaves, func(l textscan.Leaf) bool {
		return l.Path == "type" || strings.HasSuffix(l.Path, ".type") ||
			l.Path == "mimeType" || strings.HasSuffix(l.Path, ".mimeType")
	})
}

// decodeTools reads the tool definitions of a tools/list result.
func decodeTools(server string, result jsontext.Value) []Tool {
	var r struct {
		Tools []struct {
			Name        string         `json:"name"`
			Description string         `json:"description"`
			InputSchema jsontext.Value `json:"inputSchema"`
			Annotations jsontext.Value `json:"annotations"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(result, &r, checkedJSON); err != nil {
		return nil
	}
	out := make([]Tool, 0, len(r.Tools))
	for _, t := range r.Tools {
		schema := string(t.InputSchema)
		out = append(out, Tool{
			Server: server, Name: t.Name, Description: t.Description, Schema: schema,
			Annotations: string(t.Annotations),
			Hash:        xxhash.Sum64String(t.Name + "\x00" + t.Description + "\x00" + schema),
		})
	}
	return out
}
