package proxy

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/mcptrail/mcptrail/schemas"
)

func TestLegacySSE(t *testing.T) {
	up := newFakeMCP()
	r := newRig(t, up, 0)
	req, _ := http.NewRequest("GET", r.proxy.URL+"/sse", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if ev := readEvent(t, br); ev != ": hello\n\n" {
		t.Fatalf("comment %q", ev)
	}
	ev := readEvent(t, br)
	want := "event: endpoint\ndata: " + r.proxy.URL + "/messages?sessionId=L1\n\n"
	if ev != want {
		t.Fatalf("endpoint event %q, want %q", ev, want)
	}
	post := func(body string) {
		t.Helper()
		resp, err := http.Post(r.proxy.URL+"/messages?sessionId=L1", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 202 {
			t.Fatalf("POST: %d", resp.StatusCode)
		}
	}
	post(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"old","version":"1"}}}`)
	if ev := readEvent(t, br); ev != "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n" {
		t.Fatalf("reply %q", ev)
	}
	post(`{"jsonrpc":"2.0","id":2,"method":"close"}`)
	readEvent(t, br)
	r.sink.waitLines(t, 5)
	recs := r.sink.records(t)
	var msgs int
	for _, rec := range recs {
		if rec.Session != "L1" || rec.Transport != schemas.TransportSSE {
			t.Errorf("record session %q transport %q: %s", rec.Session, rec.Transport, rec.Msg)
		}
		if len(rec.Msg) > 0 {
			msgs++
		}
	}
	if msgs != 4 {
		t.Errorf("%d message records, want 4", msgs)
	}
}

func TestEndpointRewriter(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"absolute on upstream", "event: endpoint\ndata: http://up:1/m?s=1\n\n", "event: endpoint\ndata: http://me:2/m?s=1\n\n"},
		{"crlf", ": c\r\n\r\nevent: endpoint\r\ndata: http://UP:1\r\n\r\ndata: http://up:1/x\r\n\r\n", ": c\r\n\r\nevent: endpoint\r\ndata: http://me:2\r\n\r\ndata: http://up:1/x\r\n\r\n"},
		{"relative", "event: endpoint\ndata: /messages?sessionId=1\n\n", "event: endpoint\ndata: /messages?sessionId=1\n\n"},
		{"other host", "event: endpoint\ndata: http://other:1/m\n\n", "event: endpoint\ndata: http://other:1/m\n\n"},
		{"not first", "data: x\n\nevent: endpoint\ndata: http://up:1/m\n\n", "data: x\n\nevent: endpoint\ndata: http://up:1/m\n\n"},
		{"cr only", "retry: 5\r\revent: endpoint\rdata: http://up:1/m\r\r", "retry: 5\r\revent: endpoint\rdata: http://me:2/m\r\r"},
		{"unfinished", "event: endpoint\ndata: http://up:1/m", "event: endpoint\ndata: http://up:1/m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 3, 1 << 20} {
				if got := rewriteAll(t, tt.in, chunk); got != tt.want {
					t.Errorf("chunk %d: got %q, want %q", chunk, got, tt.want)
				}
			}
		})
	}
}
