package detector

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/mcptrail/mcptrail/detector/rules"
	"github.com/mcptrail/mcptrail/detector/seqmodel"
	"github.com/mcptrail/mcptrail/schemas"
)

// benchSession returns the records of one HTTP session with a token:
// initialize, tools/list of five tools, then calls and their results.
func benchSession(calls int) []*schemas.Record {
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	srv := schemas.Server{Name: "crm", Version: "1.0.0", URL: "https://crm.example.com/mcp"}
	tok := &schemas.Token{FP: "abc123", Kind: schemas.TokenJWT, Aud: schemas.Audience{"https://crm.example.com/mcp"}, Exp: ts.Add(time.Hour).Unix()}
	var out []*schemas.Record
	add := func(dir schemas.Direction, msg string) {
		ts = ts.Add(300 * time.Millisecond)
		r := &schemas.Record{V: 1, TS: ts, Host: "h", Session: "s", Client: &schemas.Peer{Name: "agent"}, Server: srv,
			Transport: schemas.TransportStreamableHTTP, Dir: dir, Msg: jsontext.Value(msg)}
		if dir == schemas.ClientToServer {
			r.Token = tok
		}
		out = append(out, r)
	}
	add(schemas.ClientToServer, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)
	add(schemas.ServerToClient, `{"jsonrpc":"2.0","id":1,"result":{"serverInfo":{"name":"crm","version":"1.0.0"}}}`)
	add(schemas.ClientToServer, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	add(schemas.ServerToClient, `{"jsonrpc":"2.0","id":2,"result":{"tools":[
		{"name":"search_accounts","description":"Searches customer accounts by name or id. Use this tool to find an account before reading it.","inputSchema":{"type":"object","properties":{"query":{"type":"string","description":"Name or id"}}}},
		{"name":"get_account","description":"Returns one account with its contacts.","inputSchema":{"type":"object","properties":{"id":{"type":"string"}}}},
		{"name":"update_account","description":"Updates fields of an account.","inputSchema":{"type":"object","properties":{"id":{"type":"string"},"fields":{"type":"object"}}}},
		{"name":"list_tasks","description":"Lists the open tasks of the current user.","inputSchema":{"type":"object","properties":{}}},
		{"name":"send_message","description":"Sends a message to a contact.","inputSchema":{"type":"object","properties":{"to":{"type":"string"},"text":{"type":"string"}}}}]}}`)
	tools := []string{"search_accounts", "get_account", "list_tasks", "get_account"}
	for i := range calls {
		id := i + 3
		add(schemas.ClientToServer, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{"query":"acme %d"}}}`, id, tools[i%len(tools)], i))
		add(schemas.ServerToClient, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{"content":[{"type":"text","text":"Account ACME-%d, owner Jane Roe, 3 open opportunities."}]}}`, id, i))
	}
	return out
}

func benchEngine(b *testing.B, detections func(*rules.Set) []Detection, extra ...Detection) {
	set, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	eng, err := New(Options{Rules: set, Detections: detections(set), Extra: extra})
	if err != nil {
		b.Fatal(err)
	}
	session := benchSession(40)
	ids := make([]string, 64)
	for i := range ids {
		ids[i] = fmt.Sprintf("sess-%d", i)
	}
	emit := func(Finding) {}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		id := ids[(i/len(session))%len(ids)]
		r := session[i%len(session)]
		r.Session = id
		eng.Observe(r, emit)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDefsTokensChain measures the engine with the tool-definition,
// token and chain detections alone, and BenchmarkBuiltinWithout and
// BenchmarkBuiltinWith the whole built-in set without and with them.
func BenchmarkDefsTokensChain(b *testing.B) {
	m := benchModel()
	benchEngine(b, func(*rules.Set) []Detection { return []Detection{newToolDefs(), newTokens()} }, NewChainDetection(m, ChainOptions{}))
}

func BenchmarkBuiltinWithout(b *testing.B) {
	benchEngine(b, func(set *rules.Set) []Detection {
		var out []Detection
		for _, d := range Builtin(set) {
			switch d.(type) {
			case *toolDefs, *tokens:
			default:
				out = append(out, d)
			}
		}
		return out
	})
}

func BenchmarkBuiltinWith(b *testing.B) {
	benchEngine(b, Builtin, NewChainDetection(benchModel(), ChainOptions{}))
}

func benchModel() *seqmodel.Model {
	tr := seqmodel.NewTrainer(seqmodel.TrainOptions{})
	for i := range 50 {
		id := fmt.Sprint(i)
		for _, t := range []string{"search_accounts", "get_account", "list_tasks", "get_account"} {
			tr.AddCall(id, "agent", "crm", t)
		}
	}
	return tr.Model()
}

// BenchmarkEngineBare is the engine with no detection: the baseline.
func BenchmarkEngineBare(b *testing.B) {
	benchEngine(b, func(*rules.Set) []Detection { return []Detection{} })
}
