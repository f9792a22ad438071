package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/collector/capture"
	"github.com/mcptrail/mcptrail/schemas"
	"github.com/mcptrail/mcptrail/schemas/mcp"
)

// slowRequests is a redactor that changes nothing but takes its time over
// requests, as a real one might over a large message.
type slowRequests time.Duration

func (d slowRequests) Redact(prefix string, value []byte) ([]byte, []string, error) {
	if prefix == "msg" && bytes.Contains(value, []byte(`"method"`)) {
		time.Sleep(time.Duration(d))
	}
	return value, nil, nil
}

// checkRequestsFirst fails unless every response in the capture comes
// after a request with its id, and returns how many responses it checked.
func checkRequestsFirst(t *testing.T, recs []*schemas.Record) int {
	t.Helper()
	requested := map[mcp.ID]bool{}
	var responses int
	for _, r := range recs {
		if r.Msg == nil {
			continue
		}
		msgs, _, err := mcp.Parse(r.Msg)
		if err != nil {
			t.Fatalf("seq %d: %v", r.Seq, err)
		}
		for _, m := range msgs {
			switch m.Kind {
			case mcp.KindRequest:
				requested[m.ID] = true
			case mcp.KindResult, mcp.KindError:
				if !requested[m.ID] {
					t.Errorf("seq %d: response %s recorded before its request", r.Seq, m.ID)
				}
				responses++
			}
		}
	}
	return responses
}

// TestRequestRecordedBeforeResponse sends requests whose answers come at
// once, while capturing a request is slow, and checks that the capture
// holds each request before its response: on the old transport, whose
// answers come on another exchange (the GET stream), and on Streamable
// HTTP.
func TestRequestRecordedBeforeResponse(t *testing.T) {
	const rounds = 60
	t.Run("old transport", func(t *testing.T) {
		r := newRigRedacting(t, newFakeMCP(), 0, slowRequests(time.Millisecond))
		req, _ := http.NewRequest("GET", r.proxy.URL+"/sse", nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		stream := bufio.NewReader(resp.Body)
		readEvent(t, stream) // the comment
		readEvent(t, stream) // the endpoint
		for i := range rounds {
			body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"ping"}`, i)
			resp, err := http.Post(r.proxy.URL+"/messages?sessionId=L1", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if ev := readEvent(t, stream); !strings.Contains(ev, fmt.Sprintf(`"id":%d,`, i)) {
				t.Fatalf("round %d: reply %q", i, ev)
			}
		}
		// The messages, and the GET's own record: an answer is recorded
		// after the client got it.
		r.sink.waitLines(t, 2*rounds+1)
		if n := checkRequestsFirst(t, r.sink.records(t)); n != rounds {
			t.Errorf("%d responses captured, want %d", n, rounds)
		}
	})
	t.Run("streamable HTTP", func(t *testing.T) {
		r := newRigRedacting(t, newFakeMCP(), 0, slowRequests(time.Millisecond))
		for i := range rounds {
			body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"ping"}`, i)
			if resp, _ := r.do(t, call{method: "POST", body: body, session: "sess-1"}, ""); resp.StatusCode != 200 {
				t.Fatalf("round %d: status %d", i, resp.StatusCode)
			}
		}
		r.sink.waitLines(t, 2*rounds)
		if n := checkRequestsFirst(t, r.sink.records(t)); n != rounds {
			t.Errorf("%d responses captured, want %d", n, rounds)
		}
	})
}

// stubBody returns its bytes in one read, then EOF, and fails like a
// server's request body once closed.
type stubBody struct {
	data   []byte
	closed bool
}

func (b *stubBody) Read(p []byte) (int, error) {
	switch {
	case b.closed:
		return 0, errors.New("http: invalid Read on closed Body")
	case len(b.data) == 0:
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func (b *stubBody) Close() error { b.closed = true; return nil }

// TestTeeBodyEnd checks that a request body is recorded before its last
// bytes go to the transport when its length is declared, else at EOF, and
// that reading it for EOF again after it was closed is not an error.
func TestTeeBodyEnd(t *testing.T) {
	const msg = `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	for _, c := range []struct {
		name      string
		want      int64
		afterRead int // records once the read returning the bytes returned
	}{
		{"declared length", int64(len(msg)), 1},
		{"unknown length", -1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink := &memSink{}
			rec, err := capture.New(capture.Config{Host: "h", Server: schemas.Server{Name: "test-mcp"},
				Transport: schemas.TransportStreamableHTTP, Sink: sink})
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(Config{Upstream: "http://127.0.0.1:1/mcp", ServerName: "test-mcp", Recorder: rec, SiteKey: testSiteKey})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("POST", "/mcp", nil)
			req.Header.Set("Mcp-Session-Id", "s1")
			x := p.newExchange(req)
			body := &teeBody{rc: &stubBody{data: []byte(msg)}, x: x, max: 1 << 20, want: c.want}
			buf := make([]byte, 512)
			if n, err := body.Read(buf); n != len(msg) || err != nil {
				t.Fatalf("Read = %d, %v", n, err)
			}
			if got := len(sink.all()); got != c.afterRead {
				t.Fatalf("%d records after the read returning the last bytes, want %d", got, c.afterRead)
			}
			if n, err := body.Read(buf); n != 0 || err != io.EOF {
				t.Fatalf("Read at the end = %d, %v", n, err)
			}
			body.rc.Close()
			if n, err := body.Read(buf); n != 0 || err != io.EOF {
				t.Fatalf("Read after Close = %d, %v; want EOF", n, err)
			}
			body.Close()
			if recs := sink.records(t); len(recs) != 1 || string(recs[0].Msg) != msg {
				t.Fatalf("records %d, want the request once", len(recs))
			}
		})
	}
}
