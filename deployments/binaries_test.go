package deployments_test

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	collectorcli "github.com/mcptrail/mcptrail/collector/cli"
	"github.com/mcptrail/mcptrail/internal/cli"
	"github.com/mcptrail/mcptrail/internal/telemetry"
)

// binary is one of the repository's binaries, as its command tree.
type binary struct {
	name    string
	newRoot func() *cobra.Command
	// envPrefix, if set, is the prefix of the environment variable every
	// flag also reads (the collector: MCPTRAIL_COLLECTOR_<FLAG>).
	envPrefix string
}

// binaries are the binaries the deployment files run, by file name.
var binaries = map[string]binary{
	"mcptrail": {name: "mcptrail", newRoot: cli.NewRootCommand},
	"mcptrail-collector": {name: "mcptrail-collector", envPrefix: "MCPTRAIL_COLLECTOR_", newRoot: func() *cobra.Command {
		return collectorcli.NewRootCommand(func(string) string { return "" })
	}},
}

// invocation is a command line a deployment file runs.
type invocation struct {
	cmd *cobra.Command // the subcommand, flags parsed
	bin binary
}

// parseInvocation finds the subcommand args run and parses its flags with
// the binary's own flag set, so an unknown flag, a bad value or a missing
// argument is an error.
func parseInvocation(bin binary, args []string) (*invocation, error) {
	root := bin.newRoot()
	cmd, rest, err := root.Find(args)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", bin.name, strings.Join(args, " "), err)
	}
	if cmd == root {
		return nil, fmt.Errorf("%s %s: no subcommand", bin.name, strings.Join(args, " "))
	}
	fs := cmd.Flags()
	fs.AddFlagSet(cmd.InheritedFlags())
	if err := fs.Parse(rest); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	if err := cmd.ValidateArgs(fs.Args()); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	return &invocation{cmd: cmd, bin: bin}, nil
}

// envName matches the environment variables a flag's help or default
// names, like (default $MCPTRAIL_BUS_TOKEN).
var envName = regexp.MustCompile(`MCPTRAIL_[A-Z0-9_]+`)

// envRead is the set of environment variables the invocation reads: those
// its flags' help texts and defaults name, the values of flags that name a
// variable (--webhook-secret-env), and, for the collector, every flag's
// own variable.
func (inv *invocation) envRead() map[string]bool {
	env := map[string]bool{}
	inv.cmd.Flags().VisitAll(func(f *pflag.Flag) {
		for _, s := range []string{f.Usage, f.DefValue} {
			for _, m := range envName.FindAllString(s, -1) {
				env[m] = true
			}
		}
		if strings.HasSuffix(f.Name, "-env") {
			env[f.Value.String()] = true
		}
		if inv.bin.envPrefix != "" {
			env[inv.bin.envPrefix+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))] = true
		}
	})
	return env
}

// metricsPort is the port of --metrics-listen. serves is false when the
// command has no such flag (a one-shot command); an error says the flag is
// there but unset or not host:port.
func (inv *invocation) metricsPort() (port int, serves bool, err error) {
	f := inv.cmd.Flags().Lookup(telemetry.FlagName)
	if f == nil {
		return 0, false, nil
	}
	addr := f.Value.String()
	if addr == "" {
		return 0, true, fmt.Errorf("%s runs without --%s: no metrics and no health endpoints for the probes", inv.cmd.CommandPath(), telemetry.FlagName)
	}
	_, p, err := net.SplitHostPort(addr)
	if err == nil {
		port, err = strconv.Atoi(p)
	}
	if err != nil || port <= 0 {
		return 0, true, fmt.Errorf("%s --%s %q: want host:port with a fixed port", inv.cmd.CommandPath(), telemetry.FlagName, addr)
	}
	return port, true, nil
}

// pinnedTag matches an exact version tag: 1.2.3, v0.28.1, 25.8.18.1,
// 2.11.6-alpine.
var pinnedTag = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+(\.[0-9]+)?([-+][0-9A-Za-z.-]+)?$`)

// pinned returns why image is not pinned to an exact version, or "".
func pinned(image string) string {
	if _, digest, ok := strings.Cut(image, "@"); ok {
		if regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
			return ""
		}
		return fmt.Sprintf("image %q: bad digest", image)
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	switch {
	case image == "":
		return "no image"
	case !ok:
		return fmt.Sprintf("image %q is not pinned: no tag (a bare name means latest)", image)
	case !pinnedTag.MatchString(tag):
		return fmt.Sprintf("image %q is not pinned to an exact version (tag %q)", image, tag)
	}
	return ""
}

// repository is an image's name without its tag or digest.
func repository(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}
