package cli

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envPrefix starts the environment variable of every option: --sink is
// MCPTRAIL_COLLECTOR_SINK.
const envPrefix = "MCPTRAIL_COLLECTOR_"

// envName is the environment variable of a flag.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyConfig fills the flags of cmd that the command line did not set,
// first from the environment, then from the YAML file named by --config
// (or MCPTRAIL_COLLECTOR_CONFIG). YAML keys are the flag names; a list sets
// a repeatable flag once per element. Unknown keys and bad values are
// errors naming the file, the key and the reason.
func applyConfig(cmd *cobra.Command, getenv func(string) string) error {
	flags := cmd.Flags()
	fromEnv := map[string]bool{}
	var errs []error
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("environment %s: %w", envName(f.Name), err))
			}
			fromEnv[f.Name] = true
		}
	})
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	path, _ := flags.GetString("config")
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	for _, key := range sortedKeys(doc) {
		f := flags.Lookup(key)
		if f == nil || key == "config" || key == "help" {
			return fmt.Errorf("config file %s: unknown option %q (the options are the flags of `%s --help`)", path, key, cmd.CommandPath())
		}
		if f.Changed || fromEnv[key] {
			continue
		}
		values, err := yamlStrings(doc[key])
		if err != nil {
			return fmt.Errorf("config file %s: option %q: %w", path, key, err)
		}
		for _, v := range values {
			if err := f.Value.Set(v); err != nil {
				return fmt.Errorf("config file %s: option %q: %w", path, key, err)
			}
		}
	}
	return nil
}

// yamlStrings turns a YAML scalar or list of scalars into flag values.
func yamlStrings(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, err := yamlScalar(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := yamlScalar(v)
	return []string{s}, err
}

func yamlScalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("want a value or a list of values, got %T", v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
