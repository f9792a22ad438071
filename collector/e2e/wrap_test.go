package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcptrail/mcptrail/schemas"
)

// wrapRun is one client session through `mcptrail-collector wrap` around a
// real server whose stdin and stdout are teed to files.
type wrapRun struct {
	capture, serverIn, serverOut string
	clientSent                   string // digest
	clientGot                    []byte
	exitErr                      error
}

// runWrapped starts the collector around serverCmd (a shell command line),
// connects the Go SDK client through it, runs use, and closes.
func runWrapped(t *testing.T, name, serverCmd string, use func(ctx context.Context, s *mcp.ClientSession)) wrapRun {
	t.Helper()
	dir := t.TempDir()
	w := wrapRun{capture: filepath.Join(dir, "capture.jsonl"), serverIn: filepath.Join(dir, "server.in"), serverOut: filepath.Join(dir, "server.out")}
	tee := "tee " + w.serverIn + " | " + serverCmd + " | tee " + w.serverOut
	cmd := exec.Command(collectorBinary(t), "wrap", "--server-name", name, "--sink", "file:"+w.capture,
		"--state-dir", filepath.Join(dir, "state"), "--", "sh", "-c", tee)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sent, got := &hashingWriter{w: stdin, h: sha256.New()}, &recordingReader{r: stdout}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "mcptrail-e2e", Version: "1.0.0"}, nil)
	session, err := client.Connect(ctx, &mcp.IOTransport{Reader: got, Writer: sent}, nil)
	if err != nil {
		t.Fatalf("connect through the collector: %v", err)
	}
	use(ctx, session)
	_ = session.Close()
	// Like a host, give the server a moment to exit after its stdin closed,
	// then signal the collector, which passes the signal on.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case w.exitErr = <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGTERM)
		w.exitErr = <-exited
	}
	if os.Getenv("E2E_KEEP") != "" {
		_ = exec.Command("cp", "-r", dir, os.Getenv("E2E_KEEP")).Run()
	}
	w.clientSent, w.clientGot = hex.EncodeToString(sent.h.Sum(nil)), got.bytes()
	return w
}

// check compares both sides' bytes and the captured messages.
func (w wrapRun) check(t *testing.T, name string) []*schemas.Record {
	t.Helper()
	if w.clientSent != fileDigest(t, w.serverIn) {
		t.Errorf("the server did not receive exactly what the client sent")
	}
	// The client receives exactly what the server sent, up to the moment
	// it closed; the server may say more after that (a request of its own),
	// which only the capture sees.
	out, err := os.ReadFile(w.serverOut)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.clientGot) == 0 || !bytes.HasPrefix(out, w.clientGot) {
		t.Errorf("the client did not receive exactly what the server sent (%d bytes received, %d sent)", len(w.clientGot), len(out))
	}
	if late := out[len(w.clientGot):]; len(late) > 0 && late[len(late)-1] != '\n' {
		t.Errorf("the client got a partial message: %d bytes after it stopped", len(late))
	}
	recs := readCapture(t, w.capture)
	// Every relayed message is captured exactly once: compare the multiset
	// of each direction's lines with the captured messages.
	byDir := map[schemas.Direction]map[string]int{schemas.ClientToServer: {}, schemas.ServerToClient: {}}
	for _, r := range recs {
		if r.Server.Name != name || r.Transport != schemas.TransportStdio || r.Server.Command == "" {
			t.Errorf("record names server %+v transport %s", r.Server, r.Transport)
		}
		if r.Msg != nil && len(r.Redacted) == 0 {
			byDir[r.Dir][string(r.Msg)]++
		}
	}
	for dir, path := range map[schemas.Direction]string{schemas.ClientToServer: w.serverIn, schemas.ServerToClient: w.serverOut} {
		relayed := map[string]int{}
		lines := jsonLines(t, path)
		for _, l := range lines {
			relayed[string(l)]++
		}
		for l, n := range relayed {
			if byDir[dir][l] != n {
				t.Errorf("%s message relayed %d times, captured %d times: %.200s", dir, n, byDir[dir][l], l)
			}
		}
		total := 0
		for _, n := range byDir[dir] {
			total += n
		}
		if total != len(lines) {
			t.Errorf("%s: %d messages captured, %d relayed", dir, total, len(lines))
		}
	}
	last := recs[len(recs)-1]
	if last.Client == nil || last.Client.Name != "mcptrail-e2e" || last.Server.Version == "" {
		t.Errorf("client or server version not learnt: client %+v server %+v", last.Client, last.Server)
	}
	return recs
}

func TestWrapServerEverything(t *testing.T) {
	servers := mcpServers(t)
	node := filepath.Join(servers, "node_modules", ".bin", "mcp-server-everything")
	w := runWrapped(t, "everything", node+" stdio", func(ctx context.Context, s *mcp.ClientSession) {
		tools, err := s.ListTools(ctx, nil)
		if err != nil || len(tools.Tools) == 0 {
			t.Fatalf("tools/list: %v", err)
		}
		res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "hello through the collector"}})
		if err != nil || res.IsError {
			t.Fatalf("echo: %v %+v", err, res)
		}
		if _, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "get-sum", Arguments: map[string]any{"a": 2, "b": 40}}); err != nil {
			t.Fatalf("get-sum: %v", err)
		}
		if _, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "get-tiny-image"}); err != nil {
			t.Fatalf("get-tiny-image: %v", err)
		}
		if err := s.Ping(ctx, nil); err != nil {
			t.Fatalf("ping: %v", err)
		}
		if res, err := s.ListResources(ctx, nil); err == nil && len(res.Resources) > 0 {
			if _, err := s.ReadResource(ctx, &mcp.ReadResourceParams{URI: res.Resources[0].URI}); err != nil {
				t.Fatalf("resources/read: %v", err)
			}
		}
	})
	recs := w.check(t, "everything")
	methods := map[string]bool{}
	for _, r := range recs {
		if r.Dir == schemas.ClientToServer && r.Msg != nil {
			for _, m := range []string{"initialize", "tools/list", "tools/call", "ping"} {
				if strings.Contains(string(r.Msg), `"method":"`+m+`"`) {
					methods[m] = true
				}
			}
		}
	}
	if len(methods) != 4 {
		t.Errorf("captured methods %v", methods)
	}
}

func TestWrapServerFilesystem(t *testing.T) {
	servers := mcpServers(t)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "notes.md"), []byte("# notes\nbuy milk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	node := filepath.Join(servers, "node_modules", ".bin", "mcp-server-filesystem")
	w := runWrapped(t, "filesystem", node+" "+root, func(ctx context.Context, s *mcp.ClientSession) {
		res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "list_directory", Arguments: map[string]any{"path": root}})
		if err != nil || res.IsError {
			t.Fatalf("list_directory: %v %+v", err, res)
		}
		res, err = s.CallTool(ctx, &mcp.CallToolParams{Name: "read_text_file", Arguments: map[string]any{"path": filepath.Join(root, "notes.md")}})
		if err != nil || res.IsError {
			t.Fatalf("read_text_file: %v %+v", err, res)
		}
		// A path outside the allowed directory: the server refuses it, and
		// the refusal is captured like any result.
		res, err = s.CallTool(ctx, &mcp.CallToolParams{Name: "read_text_file", Arguments: map[string]any{"path": "/etc/passwd"}})
		if err == nil && !res.IsError {
			t.Fatalf("reading /etc/passwd was allowed")
		}
	})
	recs := w.check(t, "filesystem")
	var sawMilk bool
	for _, r := range recs {
		if r.Dir == schemas.ServerToClient && strings.Contains(string(r.Msg), "buy milk") {
			sawMilk = true
		}
	}
	if !sawMilk {
		t.Error("the file's contents were not captured in a result")
	}
}
