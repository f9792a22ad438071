package e2e

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcptrail/mcptrail/schemas"
	mcpmsg "github.com/mcptrail/mcptrail/schemas/mcp"
)

// TestWrapRecordsRequestBeforeResponse makes a few hundred quick calls,
// several at a time, to the real everything server through the collector,
// and checks that the capture holds every response after its request: a
// response recorded first is one the detector cannot pair.
func TestWrapRecordsRequestBeforeResponse(t *testing.T) {
	servers := mcpServers(t)
	node := filepath.Join(servers, "node_modules", ".bin", "mcp-server-everything")
	const callers, calls = 4, 100
	w := runWrapped(t, "everything", node+" stdio", func(ctx context.Context, s *mcp.ClientSession) {
		var wg sync.WaitGroup
		for c := range callers {
			wg.Go(func() {
				for i := range calls {
					var err error
					if i%2 == 0 {
						err = s.Ping(ctx, nil)
					} else {
						_, err = s.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "call " + strconv.Itoa(c) + "." + strconv.Itoa(i)}})
					}
					if err != nil {
						t.Errorf("caller %d call %d: %v", c, i, err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
	recs := w.check(t, "everything")

	type key struct {
		dir schemas.Direction // the request's
		id  mcpmsg.ID
	}
	requests := map[key]bool{} // the requests recorded so far
	var responses int
	for _, r := range recs {
		if r.Msg == nil {
			continue
		}
		msgs, _, err := mcpmsg.Parse(r.Msg)
		if err != nil {
			t.Fatalf("seq %d: %v", r.Seq, err)
		}
		for _, m := range msgs {
			switch m.Kind {
			case mcpmsg.KindRequest:
				requests[key{r.Dir, m.ID}] = true
			case mcpmsg.KindResult, mcpmsg.KindError:
				from := schemas.ClientToServer
				if r.Dir == schemas.ClientToServer {
					from = schemas.ServerToClient
				}
				// The capture is in seq order (readCapture checks the chain).
				if _, ok := requests[key{from, m.ID}]; !ok {
					t.Errorf("seq %d: response %s recorded before its request (or without one)", r.Seq, m.ID)
				}
				responses++
			}
		}
	}
	if want := callers*calls + 1; responses < want { // and initialize's
		t.Errorf("%d responses checked, want at least %d", responses, want)
	}
}
