package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcptrail/mcptrail/schemas"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("nothing listens on %s", addr)
}

// process is a started command that the test stops with SIGTERM (to its
// process group), at the latest when the test ends.
type process struct {
	cmd  *exec.Cmd
	once sync.Once
	done chan struct{}
}

// startProcess starts cmd with its output in logPath.
func startProcess(t *testing.T, logPath string, cmd *exec.Cmd) *process {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}

// stop sends SIGTERM and waits for the exit (SIGKILL after 10 s).
func (p *process) stop() {
	p.once.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
}

// clientView keeps the JSON-RPC messages the client sent and received, as
// the client saw them on the wire.
type clientView struct {
	mu       sync.Mutex
	sent     []string
	received []string
	token    string
	base     http.RoundTripper
}

func (v *clientView) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+v.token)
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if len(bytes.TrimSpace(body)) > 0 {
			v.add(&v.sent, body)
		}
	}
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	ct := resp.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "text/event-stream"):
		pr, pw := io.Pipe()
		body := resp.Body
		go func() {
			sc := bufio.NewScanner(io.TeeReader(body, pw))
			sc.Buffer(nil, 16<<20)
			for sc.Scan() {
				if data, ok := strings.CutPrefix(sc.Text(), "data:"); ok && strings.TrimSpace(data) != "" {
					v.add(&v.received, []byte(strings.TrimSpace(data)))
				}
			}
			pw.CloseWithError(sc.Err())
		}()
		resp.Body = struct {
			io.Reader
			io.Closer
		}{pr, body}
	case strings.HasPrefix(ct, "application/json"):
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		v.add(&v.received, body)
	}
	return resp, nil
}

func (v *clientView) add(to *[]string, b []byte) {
	v.mu.Lock()
	*to = append(*to, string(bytes.TrimSpace(b)))
	v.mu.Unlock()
}

// testJWT builds an unsigned-looking JWT with the claims the collector reads.
func testJWT(aud string) string {
	enc := base64.RawURLEncoding.EncodeToString
	header := enc([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims := enc([]byte(fmt.Sprintf(`{"iss":"https://auth.example.test","aud":%q,"sub":"ana@example.test","client_id":"mcptrail-e2e","scope":"tools:call","exp":%d,"iat":%d,"jti":"e2e-1"}`,
		aud, time.Now().Add(time.Hour).Unix(), time.Now().Unix())))
	return header + "." + claims + ".c2lnbmF0dXJlLW5vdC1jaGVja2VkLWJ5LXRoZS1jb2xsZWN0b3I"
}

func TestProxyServerEverything(t *testing.T) {
	servers := mcpServers(t)
	dir := t.TempDir()
	upPort, proxyPort := freePort(t), freePort(t)
	up := exec.Command(filepath.Join(servers, "node_modules", ".bin", "mcp-server-everything"), "streamableHttp")
	up.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", upPort))
	startProcess(t, filepath.Join(dir, "upstream.log"), up)
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", upPort))

	capturePath := filepath.Join(dir, "capture.jsonl")
	upstream := fmt.Sprintf("http://127.0.0.1:%d/mcp", upPort)
	collectorCmd := exec.Command(collectorBinary(t), "proxy", "--listen", fmt.Sprintf("127.0.0.1:%d", proxyPort),
		"--upstream", upstream, "--server-name", "everything-http", "--sink", "file:"+capturePath,
		"--state-dir", filepath.Join(dir, "state"), "--log-level", "debug")
	collector := startProcess(t, filepath.Join(dir, "collector.log"), collectorCmd)
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", proxyPort))

	tok := testJWT(upstream)
	view := &clientView{token: tok, base: http.DefaultTransport}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "mcptrail-e2e", Version: "1.0.0"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: fmt.Sprintf("http://127.0.0.1:%d/mcp", proxyPort), HTTPClient: &http.Client{Transport: view}, DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		t.Fatalf("connect through the proxy: %v", err)
	}
	if _, err := session.ListTools(ctx, nil); err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	for i := range 3 {
		res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": fmt.Sprintf("call %d", i)}})
		if err != nil || res.IsError {
			t.Fatalf("echo: %v", err)
		}
	}
	if _, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "get-sum", Arguments: map[string]any{"a": 1, "b": 2}}); err != nil {
		t.Fatalf("get-sum: %v", err)
	}
	_ = session.Close()

	// Stop the collector so that it flushes, then read what it captured.
	collector.stop()
	recs := readCapture(t, capturePath)

	captured := map[schemas.Direction]map[string]int{schemas.ClientToServer: {}, schemas.ServerToClient: {}}
	fps := map[string]int{}
	for _, r := range recs {
		if r.Msg != nil {
			captured[r.Dir][string(r.Msg)]++
		}
		if r.Transport != schemas.TransportStreamableHTTP || r.Server.Name != "everything-http" || r.Server.URL != upstream {
			t.Errorf("record server %+v transport %s", r.Server, r.Transport)
		}
		if r.Dir == schemas.ClientToServer && r.Msg != nil {
			if r.Token == nil || r.Token.Kind != schemas.TokenJWT || r.Token.Sub != "ana@example.test" || len(r.Token.Aud) != 1 || r.Token.Aud[0] != upstream {
				t.Errorf("c2s record without the token's fingerprint and claims: %+v", r.Token)
			} else {
				fps[r.Token.FP]++
			}
		}
	}
	if len(fps) != 1 {
		t.Errorf("the token got %d different fingerprints, want one stable fingerprint", len(fps))
	}
	for dir, msgs := range map[schemas.Direction][]string{schemas.ClientToServer: view.sent, schemas.ServerToClient: view.received} {
		want := map[string]int{}
		for _, m := range msgs {
			want[m]++
		}
		for m, n := range want {
			if captured[dir][m] != n {
				t.Errorf("%s: message seen %d times by the client, captured %d times: %.200s", dir, n, captured[dir][m], m)
			}
		}
		total := 0
		for _, n := range captured[dir] {
			total += n
		}
		if total != len(msgs) {
			t.Errorf("%s: %d messages captured, the client saw %d", dir, total, len(msgs))
		}
	}

	// The raw token (and its signature) appears in no file the run made.
	sig := tok[strings.LastIndex(tok, ".")+1:]
	err = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(tok)) || bytes.Contains(b, []byte(sig)) {
			t.Errorf("the raw token appears in %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
