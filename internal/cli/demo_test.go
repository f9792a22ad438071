package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoMissingPrerequisites: without the collector, the MCP servers and
// chDB, `mcptrail demo` exits 2 and says what is missing and which script
// installs it. (internal/demo's TestDemo runs the whole demo.)
func TestDemoMissingPrerequisites(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		env  string
		want []string
	}{
		{
			name: "flags",
			args: []string{"demo", "--collector", filepath.Join(empty, "mcptrail-collector"), "--mcp-servers", empty, "--chdb-bridge", filepath.Join(empty, "bridge.py")},
			want: []string{"mcptrail-collector not found at " + filepath.Join(empty, "mcptrail-collector"), "deployments/mcp-servers/install.sh", "not installed in " + empty, "chDB bridge script"},
		},
		{
			name: "servers from the environment",
			args: []string{"demo", "--collector", filepath.Join(empty, "mcptrail-collector"), "--clickhouse", "http://127.0.0.1:1/"},
			env:  filepath.Join(empty, "from-env"),
			want: []string{"not installed in " + filepath.Join(empty, "from-env")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv(envMCPServers, tt.env)
			}
			code, _, errOut := runCLI(t, tt.args...)
			if code != ExitFailure {
				t.Fatalf("exit %d, want %d\n%s", code, ExitFailure, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not say %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// TestDemoDataDirMustBeEmpty: a data dir with something in it is refused
// (the demo's counts start from nothing), and left as it was.
func TestDemoDataDirMustBeEmpty(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "precious.txt")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The binary checks come first; point them at something that exists.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	servers := t.TempDir()
	bin := filepath.Join(servers, "node_modules", ".bin")
	if err := os.MkdirAll(bin, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"mcp-server-everything", "mcp-server-filesystem"} {
		if err := os.WriteFile(filepath.Join(bin, n), nil, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	code, _, errOut := runCLI(t, "demo", "--collector", self, "--mcp-servers", servers, "--clickhouse", "http://127.0.0.1:1/", "--data-dir", dir)
	if code != ExitFailure || !strings.Contains(errOut, "is not empty") {
		t.Fatalf("exit %d, want %d and a refusal:\n%s", code, ExitFailure, errOut)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the data dir's content was touched: %v", err)
	}
}
