package wrap

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/collector/capture"
	"github.com/mcptrail/mcptrail/schemas"
)

// The test binary doubles as the wrapped server when WRAP_TEST_CHILD is set.
func TestMain(m *testing.M) {
	switch os.Getenv("WRAP_TEST_CHILD") {
	case "":
		os.Exit(m.Run())
	case "echo":
		os.Exit(echoServer())
	case "wait-signal":
		waitSignal()
	}
}

// echoServer answers each request line with a result, after a non-JSON
// banner and a line on stderr; it saves all it read to WRAP_TEST_SAVE and
// exits with WRAP_TEST_EXIT.
func echoServer() int {
	fmt.Fprintln(os.Stderr, "echo server: starting")
	fmt.Println("echo server ready (not JSON)")
	var saved bytes.Buffer
	in := bufio.NewReader(os.Stdin)
	for {
		line, err := in.ReadBytes('\n')
		saved.Write(line)
		if i := bytes.Index(line, []byte(`"id":`)); i >= 0 && len(line) > 0 {
			id := line[i+5:]
			id = id[:bytes.IndexAny(id, ",}")]
			if bytes.Contains(line, []byte(`"initialize"`)) {
				fmt.Printf(`{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-11-25","serverInfo":{"name":"echo","version":"9.9"}}}`+"\n", id)
			} else {
				fmt.Printf(`{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"ok"}]}}`+"\n", id)
			}
		}
		if err != nil {
			break
		}
	}
	_ = os.WriteFile(os.Getenv("WRAP_TEST_SAVE"), saved.Bytes(), 0o600)
	code, _ := strconv.Atoi(os.Getenv("WRAP_TEST_EXIT"))
	return code
}

func waitSignal() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	fmt.Println(`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"waiting"}}`)
	<-c
	os.Exit(42)
}

type memSink struct {
	mu    sync.Mutex
	lines []string
}

func (m *memSink) Write(_ string, line []byte) error {
	m.mu.Lock()
	m.lines = append(m.lines, string(line))
	m.mu.Unlock()
	return nil
}
func (m *memSink) Close(context.Context) error { return nil }

func (m *memSink) records(t *testing.T) []*schemas.Record {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	r := schemas.NewReader(strings.NewReader(strings.Join(m.lines, "\n")))
	var out []*schemas.Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("captured line %d: %v", r.Line(), err)
		}
		out = append(out, rec)
	}
}

func setup(t *testing.T, mode string, exit int) (Config, *memSink, string) {
	t.Helper()
	sink := &memSink{}
	rec, err := capture.New(capture.Config{Host: "h", Server: schemas.Server{Name: "echo", Command: os.Args[0]},
		Transport: schemas.TransportStdio, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	save := t.TempDir() + "/stdin"
	t.Setenv("WRAP_TEST_CHILD", mode)
	t.Setenv("WRAP_TEST_SAVE", save)
	t.Setenv("WRAP_TEST_EXIT", strconv.Itoa(exit))
	return Config{Command: []string{os.Args[0]}, Recorder: rec, Session: "sess-1"}, sink, save
}

func TestWrapRelaysAndCaptures(t *testing.T) {
	cfg, sink, save := setup(t, "echo", 3)
	input := `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"clientInfo":{"name":"tester","version":"1"}}}` + "\n" +
		`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n" +
		"garbage from the client\n" +
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"big":"` + strings.Repeat("é", 1<<20) + `"}}}` + "\n"
	// The client writes in odd-sized pieces.
	pr, pw := io.Pipe()
	go func() {
		for b := []byte(input); len(b) > 0; {
			n := min(len(b), 777)
			_, _ = pw.Write(b[:n])
			b = b[n:]
		}
		_ = pw.Close()
	}()
	var stdout, stderr bytes.Buffer
	cfg.Stdin, cfg.Stdout, cfg.Stderr = pr, &stdout, &stderr
	code, err := Run(context.Background(), cfg)
	if err != nil || code != 3 {
		t.Fatalf("Run: code %d, err %v; want the child's code 3", code, err)
	}
	got, _ := os.ReadFile(save)
	if sha256.Sum256(got) != sha256.Sum256([]byte(input)) {
		t.Errorf("the server did not receive the client's bytes unchanged (%d vs %d bytes)", len(got), len(input))
	}
	wantOut := "echo server ready (not JSON)\n" +
		`{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","serverInfo":{"name":"echo","version":"9.9"}}}` + "\n" +
		`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}` + "\n"
	if stdout.String() != wantOut {
		t.Errorf("client got\n%q\nwant\n%q", stdout.String(), wantOut)
	}
	if !strings.Contains(stderr.String(), "echo server: starting") {
		t.Errorf("stderr not relayed: %q", stderr.String())
	}

	recs := sink.records(t)
	var c2s, s2c, parse int
	for _, r := range recs {
		switch {
		case r.ParseError != nil:
			parse++
		case r.Dir == schemas.ClientToServer:
			c2s++
		default:
			s2c++
		}
		if r.Session != "sess-1" || r.Server.Name != "echo" {
			t.Errorf("record has session %q server %q", r.Session, r.Server.Name)
		}
	}
	if c2s != 3 || s2c != 2 || parse != 2 {
		t.Errorf("captured %d c2s, %d s2c, %d parse errors; want 3, 2, 2", c2s, s2c, parse)
	}
	last := recs[len(recs)-1]
	if last.Client == nil || last.Client.Name != "tester" || last.Server.Version != "9.9" {
		t.Errorf("client and server not learnt from initialize: %+v %+v", last.Client, last.Server)
	}
}

func TestWrapForwardsSignals(t *testing.T) {
	cfg, sink, _ := setup(t, "wait-signal", 0)
	pr, pw := io.Pipe()
	defer pw.Close()
	cfg.Stdin, cfg.Stdout, cfg.Stderr = pr, io.Discard, io.Discard
	go func() {
		// Once the child is up (its notification captured), signal us.
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			sink.mu.Lock()
			n := len(sink.lines)
			sink.mu.Unlock()
			if n > 0 {
				_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
				return
			}
		}
	}()
	code, err := Run(context.Background(), cfg)
	if err != nil || code != 42 {
		t.Fatalf("Run: code %d, err %v; want 42 from the child's SIGTERM handler", code, err)
	}
}

func TestWrapErrors(t *testing.T) {
	cfg, _, _ := setup(t, "echo", 0)
	cfg.Command = nil
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "no server command") {
		t.Errorf("no command: %v", err)
	}
	cfg.Command = []string{"/nonexistent/mcp-server"}
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "/nonexistent/mcp-server") {
		t.Errorf("missing program: %v", err)
	}
}
