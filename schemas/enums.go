package schemas

// Transport is the MCP transport a record was captured on.
type Transport string

// Transports of the MCP specification.
const (
	TransportStdio          Transport = "stdio"
	TransportStreamableHTTP Transport = "streamable-http"
	TransportSSE            Transport = "sse"
)

// Valid reports whether t is one of the known transports.
func (t Transport) Valid() bool {
	switch t {
	case TransportStdio, TransportStreamableHTTP, TransportSSE:
		return true
	}
	return false
}

// Direction is which way a message travelled.
type Direction string

// Directions.
const (
	ClientToServer Direction = "c2s"
	ServerToClient Direction = "s2c"
)

// Valid reports whether d is c2s or s2c.
func (d Direction) Valid() bool {
	return d == ClientToServer || d == ServerToClient
}

// Opposite is the other direction: the one a response to a message in d
// travels.
func (d Direction) Opposite() Direction {
	if d == ClientToServer {
		return ServerToClient
	}
	return ClientToServer
}
