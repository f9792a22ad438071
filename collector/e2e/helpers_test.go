package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mcptrail/mcptrail/schemas"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mcptrail-e2e-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// collectorBinary builds mcptrail-collector once per test run.
func collectorBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "mcptrail-collector")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/mcptrail/mcptrail/cmd/mcptrail-collector").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build mcptrail-collector: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// mcpServers returns the directory the real MCP servers are installed in.
// Outside CI a missing install skips the test; in CI it fails it.
func mcpServers(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("MCPTRAIL_MCP_SERVERS")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "mcptrail", "mcp-servers")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "mcp-server-everything")); err != nil {
		msg := "real MCP servers not installed (run deployments/mcp-servers/install.sh): " + err.Error()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// recordingReader keeps what the client receives; hashingWriter digests
// what it sends.
type recordingReader struct {
	r   io.ReadCloser
	mu  sync.Mutex
	got bytes.Buffer
}

func (h *recordingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.mu.Lock()
	h.got.Write(p[:n])
	h.mu.Unlock()
	return n, err
}
func (h *recordingReader) Close() error { return h.r.Close() }

func (h *recordingReader) bytes() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Clone(h.got.Bytes())
}

type hashingWriter struct {
	w io.WriteCloser
	h hash.Hash
}

func (h *hashingWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.h.Write(p[:n])
	return n, err
}
func (h *hashingWriter) Close() error { return h.w.Close() }

func fileDigest(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// readCapture reads a capture file and checks every line and the chain.
func readCapture(t *testing.T, path string) []*schemas.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := schemas.NewReader(f)
	checker := schemas.NewChainChecker()
	var out []*schemas.Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("capture line %d: %v", r.Line(), err)
		}
		if problems, err := checker.Check(rec); err != nil || len(problems) > 0 {
			t.Fatalf("capture chain broken: %v %v", problems, err)
		}
		out = append(out, rec)
	}
}

// jsonLines returns the non-empty lines of a file.
func jsonLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, append([]byte(nil), l...))
		}
	}
	return out
}
