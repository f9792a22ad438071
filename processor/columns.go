package processor

import (
	"time"

	"github.com/mcptrail/mcptrail/schemas"
)

// Columns is a batch of events for the ClickHouse events table, one slice
// per column in the table's order, ready for clickhouse-go's columnar
// batch API (batch.Column(i).Append(slice)).
type Columns struct {
	EventID        []uint64
	TS             []time.Time
	Host           []string
	Session        []string
	ClientName     []string
	ClientVersion  []string
	ServerName     []string
	ServerVersion  []string
	ServerCommand  []string
	ServerURL      []string
	Transport      []string
	Dir            []string
	Kind           []string
	Method         []string
	Category       []string
	RPCID          []string
	BatchIndex     []int16
	Target         []string
	Params         [][]byte // slices of the records' messages: no copy
	Result         [][]byte
	IsError        []bool
	ErrorCode      []int64
	ErrorMessage   []string
	Invalid        []string
	LatencyUS      []uint64
	MsgBytes       []uint32
	HTTPMethod     []string
	HTTPPath       []string
	HTTPStatus     []uint16
	TokenFP        []string
	TokenKind      []string
	TokenIss       []string
	TokenSub       []string
	TokenAud       [][]string
	TokenClientID  []string
	TokenScope     []string
	TokenExp       []time.Time
	AuthType       []string
	AuthEndpoint   []string
	AuthResource   []string
	AuthPKCEMethod []string
	AuthRedirect   []string
	Redacted       [][]string
	Stream         []string
	Seq            []uint64
	Chain          []string
	// ChainFrame and ChainCuts let verify rebuild a chained record from its
	// rows (see Frame); set on the first row of a chained record only.
	ChainFrame [][]byte
	ChainCuts  [][]uint32
	Attrs      []map[string]string
}

// Len is the number of rows in the batch.
func (c *Columns) Len() int { return len(c.EventID) }

// Reset empties the batch, keeping its capacity.
func (c *Columns) Reset() {
	*c = Columns{
		EventID: c.EventID[:0], TS: c.TS[:0], Host: c.Host[:0], Session: c.Session[:0],
		ClientName: c.ClientName[:0], ClientVersion: c.ClientVersion[:0], ServerName: c.ServerName[:0],
		ServerVersion: c.ServerVersion[:0], ServerCommand: c.ServerCommand[:0], ServerURL: c.ServerURL[:0],
		Transport: c.Transport[:0], Dir: c.Dir[:0], Kind: c.Kind[:0], Method: c.Method[:0], Category: c.Category[:0],
		RPCID: c.RPCID[:0], BatchIndex: c.BatchIndex[:0], Target: c.Target[:0], Params: c.Params[:0], Result: c.Result[:0],
		IsError: c.IsError[:0], ErrorCode: c.ErrorCode[:0], ErrorMessage: c.ErrorMessage[:0], Invalid: c.Invalid[:0],
		LatencyUS: c.LatencyUS[:0], MsgBytes: c.MsgBytes[:0], HTTPMethod: c.HTTPMethod[:0], HTTPPath: c.HTTPPath[:0],
		HTTPStatus: c.HTTPStatus[:0], TokenFP: c.TokenFP[:0], TokenKind: c.TokenKind[:0], TokenIss: c.TokenIss[:0],
		TokenSub: c.TokenSub[:0], TokenAud: c.TokenAud[:0], TokenClientID: c.TokenClientID[:0], TokenScope: c.TokenScope[:0],
		TokenExp: c.TokenExp[:0], AuthType: c.AuthType[:0], AuthEndpoint: c.AuthEndpoint[:0], AuthResource: c.AuthResource[:0],
		AuthPKCEMethod: c.AuthPKCEMethod[:0], AuthRedirect: c.AuthRedirect[:0], Redacted: c.Redacted[:0],
		Stream: c.Stream[:0], Seq: c.Seq[:0], Chain: c.Chain[:0], ChainFrame: c.ChainFrame[:0], ChainCuts: c.ChainCuts[:0],
		Attrs: c.Attrs[:0],
	}
}

// epoch stands in for a missing DateTime.
var epoch = time.Unix(0, 0).UTC()

// Append adds one event as a row.
func (c *Columns) Append(id uint64, ev *schemas.Event, rec *schemas.Record) {
	c.EventID = append(c.EventID, id)
	c.TS = append(c.TS, ev.TS)
	c.Host = append(c.Host, ev.Host)
	c.Session = append(c.Session, ev.Session)
	c.ClientName = append(c.ClientName, ev.ClientName)
	c.ClientVersion = append(c.ClientVersion, ev.ClientVersion)
	c.ServerName = append(c.ServerName, ev.ServerName)
	c.ServerVersion = append(c.ServerVersion, ev.ServerVersion)
	c.ServerCommand = append(c.ServerCommand, ev.ServerCommand)
	c.ServerURL = append(c.ServerURL, ev.ServerURL)
	c.Transport = append(c.Transport, string(ev.Transport))
	c.Dir = append(c.Dir, string(ev.Dir))
	c.Kind = append(c.Kind, string(ev.Kind))
	c.Method = append(c.Method, string(ev.Method))
	c.Category = append(c.Category, string(ev.Category))
	c.RPCID = append(c.RPCID, string(ev.RPCID))
	c.BatchIndex = append(c.BatchIndex, int16(ev.BatchIndex))
	c.Target = append(c.Target, ev.Target)
	c.Params = append(c.Params, ev.Params)
	c.Result = append(c.Result, ev.Result)
	c.IsError = append(c.IsError, ev.IsError)
	c.ErrorCode = append(c.ErrorCode, ev.ErrorCode)
	c.ErrorMessage = append(c.ErrorMessage, ev.ErrorMessage)
	c.Invalid = append(c.Invalid, ev.Invalid)
	c.LatencyUS = append(c.LatencyUS, uint64(ev.Latency/time.Microsecond))
	c.MsgBytes = append(c.MsgBytes, uint32(ev.MsgBytes))
	c.HTTPMethod = append(c.HTTPMethod, ev.HTTPMethod)
	c.HTTPPath = append(c.HTTPPath, ev.HTTPPath)
	c.HTTPStatus = append(c.HTTPStatus, uint16(ev.HTTPStatus))
	t := ev.Token
	if t == nil {
		t = &schemas.Token{}
	}
	exp := epoch
	if t.Exp > 0 {
		exp = time.Unix(t.Exp, 0).UTC()
	}
	c.TokenFP = append(c.TokenFP, t.FP)
	c.TokenKind = append(c.TokenKind, string(t.Kind))
	c.TokenIss = append(c.TokenIss, t.Iss)
	c.TokenSub = append(c.TokenSub, t.Sub)
	c.TokenAud = append(c.TokenAud, nonNil(t.Aud))
	c.TokenClientID = append(c.TokenClientID, t.ClientID)
	c.TokenScope = append(c.TokenScope, t.Scope)
	c.TokenExp = append(c.TokenExp, exp)
	a := ev.Auth
	if a == nil {
		a = &schemas.AuthEvent{}
	}
	c.AuthType = append(c.AuthType, string(a.Type))
	c.AuthEndpoint = append(c.AuthEndpoint, a.Endpoint)
	c.AuthResource = append(c.AuthResource, a.Resource)
	c.AuthPKCEMethod = append(c.AuthPKCEMethod, a.CodeChallengeMethod)
	c.AuthRedirect = append(c.AuthRedirect, a.RedirectURI)
	c.Redacted = append(c.Redacted, nonNil(ev.Redacted))
	c.Stream = append(c.Stream, rec.Stream)
	c.Seq = append(c.Seq, rec.Seq)
	c.Chain = append(c.Chain, rec.Chain)
	c.ChainFrame = append(c.ChainFrame, nil)
	c.ChainCuts = append(c.ChainCuts, noCuts)
	c.Attrs = append(c.Attrs, nil)
}

// noCuts is the ChainCuts of a row without a frame (an Array column takes
// no nil).
var noCuts = []uint32{}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
