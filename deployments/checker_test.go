package deployments_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// checker checks the deployment files against the repository. Files are
// read from the repository, or from override (repository-relative path to
// content): the broken copies of the tests.
type checker struct {
	root     string
	override map[string]string
	problems []string
}

// problemf records a problem.
func (c *checker) problemf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// read returns a repository file (rel is slash-separated).
func (c *checker) read(rel string) ([]byte, error) {
	rel = path.Clean(rel)
	if s, ok := c.override[rel]; ok {
		return []byte(s), nil
	}
	return os.ReadFile(filepath.Join(c.root, filepath.FromSlash(rel)))
}

// exists reports whether a repository path exists, and whether it is a
// directory.
func (c *checker) exists(rel string) (ok, dir bool) {
	rel = path.Clean(rel)
	if _, ok := c.override[rel]; ok {
		return true, false
	}
	st, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(rel)))
	if err != nil {
		return false, false
	}
	return true, st.IsDir()
}

// list returns the names of the files in a repository directory.
func (c *checker) list(rel string) []string {
	entries, err := os.ReadDir(filepath.Join(c.root, filepath.FromSlash(rel)))
	if err != nil {
		c.problemf("%s: %v", rel, err)
		return nil
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// dockerfile is what the checks need of a Dockerfile.
type dockerfile struct {
	stages     []string            // stage names, in order
	entrypoint map[string][]string // stage name -> its ENTRYPOINT (exec form)
	env        map[string]map[string]string
}

var (
	fromLine       = regexp.MustCompile(`(?i)^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$`)
	entrypointLine = regexp.MustCompile(`(?i)^ENTRYPOINT\s+(\[.*\])\s*$`)
	envLine        = regexp.MustCompile(`(?i)^ENV\s+(.*)$`)
	envPair        = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)=(\S+)`)
)

// dockerfile reads and checks a Dockerfile: every base image that is not
// an earlier stage is pinned.
func (c *checker) dockerfile(rel string) *dockerfile {
	data, err := c.read(rel)
	if err != nil {
		c.problemf("%s: %v", rel, err)
		return nil
	}
	d := &dockerfile{entrypoint: map[string][]string{}, env: map[string]map[string]string{}}
	stage := ""
	// Join continued lines.
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if m := fromLine.FindStringSubmatch(line); m != nil {
			if !slices.Contains(d.stages, m[1]) {
				if why := pinned(m[1]); why != "" {
					c.problemf("%s: FROM %s: %s", rel, m[1], why)
				}
			}
			stage = m[2]
			d.stages = append(d.stages, stage)
			d.env[stage] = map[string]string{}
			continue
		}
		if m := entrypointLine.FindStringSubmatch(line); m != nil {
			var ep []string
			if err := json.Unmarshal([]byte(m[1]), &ep); err != nil {
				c.problemf("%s: ENTRYPOINT %s: %v", rel, m[1], err)
			}
			d.entrypoint[stage] = ep
		}
		if m := envLine.FindStringSubmatch(line); m != nil {
			for _, p := range envPair.FindAllStringSubmatch(m[1], -1) {
				d.env[stage][p[1]] = p[2]
			}
		}
	}
	if len(d.stages) == 0 {
		c.problemf("%s: no FROM", rel)
	}
	return d
}

// binaryOf returns the binary an image's stage runs, by its entrypoint.
func (c *checker) binaryOf(where string, entrypoint []string) (binary, bool) {
	if len(entrypoint) == 0 {
		c.problemf("%s: no entrypoint", where)
		return binary{}, false
	}
	b, ok := binaries[path.Base(entrypoint[0])]
	if !ok {
		c.problemf("%s: entrypoint %q is none of the repository's binaries", where, entrypoint[0])
	}
	return b, ok
}
