package capture

import (
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/mcptrail/mcptrail/schemas"
	"github.com/mcptrail/mcptrail/schemas/mcp"
)

// learnLimit is how many messages of a session are read for initialize
// when its handshake is not seen (a capture started mid-session).
const learnLimit = 32

// sessionState is what a Recorder learnt of one MCP session from initialize.
type sessionState struct {
	client        *schemas.Peer
	initID        mcp.ID // id of the initialize request, until answered
	serverVersion string
	seen          int  // messages read for learning
	learnt        bool // the initialize result was seen: stop reading
}

// learn reads the client from an initialize request and the server's
// version from its result. Once the handshake is over (or after
// learnLimit messages without one) it costs nothing.
func (s *sessionState) learn(dir schemas.Direction, line []byte) {
	if s.learnt || s.seen >= learnLimit {
		return
	}
	s.seen++
	msgs, _, err := mcp.Parse(line)
	if err != nil {
		return
	}
	for i := range msgs {
		m := &msgs[i]
		switch {
		case dir == schemas.ClientToServer && m.Kind == mcp.KindRequest && m.Method == mcp.Initialize:
			var p struct {
				ClientInfo *schemas.Peer `json:"clientInfo"`
			}
			if json.Unmarshal(m.Params, &p) == nil && p.ClientInfo != nil && p.ClientInfo.Name != "" {
				s.client = p.ClientInfo
			}
			s.initID = m.ID
		case dir == schemas.ServerToClient && m.Kind == mcp.KindResult && s.initID != "" && m.ID == s.initID:
			var r struct {
				ServerInfo *schemas.Peer `json:"serverInfo"`
			}
			if json.Unmarshal(m.Result, &r) == nil && r.ServerInfo != nil {
				s.serverVersion = r.ServerInfo.Version
			}
			s.initID, s.learnt = "", true
		}
	}
}

// notMessage says why line cannot be a JSON-RPC message or batch, or "".
func notMessage(line []byte) string {
	v := jsontext.Value(line)
	if !v.IsValid() {
		var discard jsontext.Value
		if err := json.Unmarshal(line, &discard); err != nil {
			return "not JSON: " + err.Error()
		}
		return "not JSON"
	}
	if k := v.Kind(); k != '{' && k != '[' {
		return "not a JSON-RPC message object or batch"
	}
	return ""
}

func jsonString(s string) ([]byte, error) { return json.Marshal(s) }

func unquote(b []byte) (string, error) {
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}
