package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func runCollector(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// TestConfigPrecedence: a flag beats the environment, which beats the
// YAML file, which beats the default.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "collector.yaml")
	yaml := "sink: file:" + filepath.Join(dir, "from-file.jsonl") + "\nhost: host-from-file\nserver-name: name-from-file\nredact-key:\n  - pin\n  - otp\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      map[string]string
		flags    []string
		wantHost string
		wantName string
	}{
		{"file only", nil, nil, "host-from-file", "name-from-file"},
		{"env beats file", map[string]string{"MCPTRAIL_COLLECTOR_HOST": "host-from-env"}, nil, "host-from-env", "name-from-file"},
		{"flag beats env", map[string]string{"MCPTRAIL_COLLECTOR_HOST": "host-from-env"}, []string{"--host", "host-from-flag", "--server-name", "name-from-flag"}, "host-from-flag", "name-from-flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o options
			cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
			o.register(cmd)
			if err := cmd.ParseFlags(append([]string{"--config", file}, tt.flags...)); err != nil {
				t.Fatal(err)
			}
			if err := applyConfig(cmd, func(k string) string { return tt.env[k] }); err != nil {
				t.Fatal(err)
			}
			if o.host != tt.wantHost || o.serverName != tt.wantName {
				t.Errorf("host %q name %q, want %q %q", o.host, o.serverName, tt.wantHost, tt.wantName)
			}
			if strings.Join(o.redactKeys, ",") != "pin,otp" {
				t.Errorf("list option from YAML: %v", o.redactKeys)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"wrap", "--", "true"}, "--server-name is required"},
		{nil, []string{"wrap", "--server-name", "x", "--config", write("bad-key.yaml", "colour: blue\n"), "--", "true"}, `unknown option "colour"`},
		{nil, []string{"wrap", "--server-name", "x", "--config", write("bad-size.yaml", "spool-max: lots\n"), "--", "true"}, `option "spool-max"`},
		{nil, []string{"wrap", "--server-name", "x", "--config", write("bad-yaml.yaml", "sink: [\n"), "--", "true"}, "bad-yaml.yaml"},
		{nil, []string{"wrap", "--server-name", "x", "--config", filepath.Join(dir, "missing.yaml"), "--", "true"}, "missing.yaml"},
		{map[string]string{"MCPTRAIL_COLLECTOR_MAX_LINE": "-3"}, []string{"wrap", "--server-name", "x", "--", "true"}, "MCPTRAIL_COLLECTOR_MAX_LINE"},
		{nil, []string{"wrap", "--server-name", "x", "--sink", "embedded", "--state-dir", dir, "--", "true"}, "cannot run an embedded bus"},
		{nil, []string{"wrap", "--server-name", "x", "--sink", "redis://h", "--state-dir", dir, "--", "true"}, "unknown scheme"},
		{nil, []string{"wrap", "--server-name", "x", "--redact-pattern", "nokind", "--state-dir", dir, "--", "true"}, "KIND=REGEXP"},
		{nil, []string{"wrap", "--server-name", "x", "--redact-pattern", "k=(", "--state-dir", dir, "--", "true"}, "redaction"},
		{nil, []string{"wrap", "--server-name", "x", "--log-level", "loud", "--state-dir", dir, "--", "true"}, "--log-level"},
		{nil, []string{"proxy", "--server-name", "x", "--sink", "file:" + filepath.Join(dir, "c.jsonl"), "--state-dir", dir}, "--upstream is required"},
		{nil, []string{"proxy", "--server-name", "x", "--upstream", "ftp://h/", "--sink", "file:" + filepath.Join(dir, "c.jsonl"), "--state-dir", dir}, "ftp"},
	}
	for _, tt := range tests {
		code, _, errOut := runCollector(t, tt.env, "", tt.args...)
		if code != ExitConfig || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tt.args, code, errOut, ExitConfig, tt.want)
		}
	}
}

// TestWrapExitCodeAndCapture runs wrap in process around sh.
func TestWrapExitCodeAndCapture(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "c.jsonl")
	code, stdout, errOut := runCollector(t, nil, `{"jsonrpc":"2.0","id":1,"method":"ping"}`+"\n",
		"wrap", "--server-name", "sh", "--sink", "file:"+capture, "--state-dir", dir, "--", "sh", "-c", `cat; echo '{"jsonrpc":"2.0","id":1,"result":{}}'; exit 7`)
	if code != 7 {
		t.Fatalf("exit %d, want the server's 7; stderr %s", code, errOut)
	}
	if stdout != `{"jsonrpc":"2.0","id":1,"method":"ping"}`+"\n"+`{"jsonrpc":"2.0","id":1,"result":{}}`+"\n" {
		t.Errorf("stdout %q", stdout)
	}
	data, err := os.ReadFile(capture)
	if err != nil || strings.Count(string(data), "\n") != 3 || !strings.Contains(string(data), `"command":"sh -c \"cat;`) {
		t.Errorf("capture (%v):\n%s", err, data)
	}
	if st, err := os.Stat(filepath.Join(dir, "site.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("site key not created with 0600: %v", err)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"wrap", "--help"}, {"proxy", "--help"}} {
		code, out, _ := runCollector(t, nil, "", args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d\n%s", args, code, out)
		}
		for _, flag := range []string{"--sink", "--server-name", "--spool-max", "--redact", "--metrics-listen"} {
			if args[0] != "--help" && !strings.Contains(out, flag) {
				t.Errorf("%v does not document %s", args, flag)
			}
		}
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{{"512", 512, false}, {"64KiB", 64 << 10, false}, {"256MiB", 256 << 20, false}, {"1 GiB", 1 << 30, false}, {"3MB", 3e6, false},
		{"", 0, true}, {"-1", 0, true}, {"10XB", 0, true}, {"MiB", 0, true}}
	for _, tt := range tests {
		var b byteSize
		err := b.Set(tt.in)
		if (err != nil) != tt.err || (!tt.err && int64(b) != tt.want) {
			t.Errorf("Set(%q) = %d, %v", tt.in, b, err)
		}
	}
	b := byteSize(256 << 20)
	if b.String() != "256MiB" {
		t.Errorf("String() = %s", b.String())
	}
}
