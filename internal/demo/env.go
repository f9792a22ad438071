package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Install scripts named in errors, relative to the repository root.
const (
	mcpServersInstall = "deployments/mcp-servers/install.sh"
	chdbInstall       = "deployments/chdb/install.sh"
)

// toolchain is where everything the demo runs lives, checked before
// anything starts so that a missing piece is named at once.
type toolchain struct {
	mcptrail   string // the mcptrail binary (bus, migrate, process, detect, verify)
	collector  string // the mcptrail-collector binary
	node       string
	everything string // mcp-server-everything
	filesystem string // mcp-server-filesystem
	serversDir string // the npm prefix holding them
	python     string // for the chDB bridge; empty with a ClickHouse server
	bridge     string // bridge.py
}

// locate finds the binaries and scripts cfg names and checks that they
// work, returning an error that says what is missing and how to install
// it.
func locate(ctx context.Context, cfg *Config) (*toolchain, error) {
	tc := &toolchain{mcptrail: cfg.Mcptrail, collector: cfg.Collector, serversDir: cfg.MCPServers}
	var problems []string
	if _, err := os.Stat(tc.mcptrail); err != nil {
		problems = append(problems, fmt.Sprintf("the mcptrail binary %s: %v", tc.mcptrail, err))
	}
	if fi, err := os.Stat(tc.collector); err != nil || fi.IsDir() {
		problems = append(problems, fmt.Sprintf("mcptrail-collector not found at %s: build it with `go build -o bin/ ./cmd/...` (or `go tool task build`), or pass --collector", tc.collector))
	}
	node, err := exec.LookPath("node")
	if err != nil {
		problems = append(problems, "node (Node.js 18 or later) is not installed or not in PATH: the demo runs the real MCP servers from npm; install Node.js, then run "+mcpServersInstall)
	}
	tc.node = node
	bin := filepath.Join(tc.serversDir, "node_modules", ".bin")
	tc.everything = filepath.Join(bin, "mcp-server-everything")
	tc.filesystem = filepath.Join(bin, "mcp-server-filesystem")
	for _, p := range []string{tc.everything, tc.filesystem} {
		if _, err := os.Stat(p); err != nil {
			problems = append(problems, fmt.Sprintf("MCP server %s is not installed in %s: run %s (it prints the directory; pass it with --mcp-servers or MCPTRAIL_MCP_SERVERS)", filepath.Base(p), tc.serversDir, mcpServersInstall))
		}
	}
	if cfg.ClickHouse == "" {
		if err := tc.locateBridge(ctx, cfg.ChdbBridge); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("the demo cannot start:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return tc, nil
}

// locateBridge checks python3, the chdb module and the bridge script.
func (tc *toolchain) locateBridge(ctx context.Context, script string) error {
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("the chDB bridge script %s: %v: run the demo from the repository root, pass --chdb-bridge PATH, or pass --clickhouse URL of a ClickHouse server", script, err)
	}
	tc.bridge = script
	py, err := exec.LookPath("python3")
	if err != nil {
		return errors.New("python3 is not installed or not in PATH: without --clickhouse the demo stores into chDB (the ClickHouse engine as a Python module); install Python 3.9 or later, then run " + chdbInstall)
	}
	tc.python = py
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, py, "-c", "import chdb").CombinedOutput()
	if err != nil {
		return fmt.Errorf("chDB is not installed for %s (%v: %s): run %s, or pass --clickhouse URL of a ClickHouse server", py, err, lastLine(out), chdbInstall)
	}
	return nil
}

// lastLine is the last non-empty line of out.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
