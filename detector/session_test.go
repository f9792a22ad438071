package detector

import (
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func TestToolNamesHashIsHashOfJoinedNames(t *testing.T) {
	for _, names := range [][]string{nil, {"a"}, {"read_file", "send_email"}, {"", "x", ""}} {
		if got, want := toolNamesHash(names), xxhash.Sum64String(strings.Join(names, "\x00")); got != want {
			t.Errorf("toolNamesHash(%q) = %x, want %x", names, got, want)
		}
	}
}

// A server's first list is shared between sessions; a second list in one
// session must not change what other sessions see.
func TestListedCopiesSharedToolsBeforeAdding(t *testing.T) {
	first := &decodedTools{server: "files", tools: []Tool{{Server: "files", Name: "read_file"}, {Server: "files", Name: "list_dir"}}}
	later := &decodedTools{server: "files", tools: []Tool{{Server: "files", Name: "write_file"}}}
	a, b := newSession("a"), newSession("b")
	a.listed("files", first)
	b.listed("files", first)
	if got := a.ToolNames(); !slices.Equal(got, []string{"list_dir", "read_file"}) {
		t.Fatalf("ToolNames after the first list = %q", got)
	}
	a.listed("files", later)
	if got := a.ToolNames(); !slices.Equal(got, []string{"list_dir", "read_file", "write_file"}) {
		t.Fatalf("ToolNames after the second list = %q", got)
	}
	if got := b.ToolNames(); !slices.Equal(got, []string{"list_dir", "read_file"}) {
		t.Fatalf("the other session's ToolNames = %q: the second list changed the shared map", got)
	}
	if len(first.toolsByName()) != 2 {
		t.Fatalf("the shared map holds %d tools, want 2", len(first.toolsByName()))
	}
	if _, h := first.sortedNames(); h != b.toolNamesHash {
		t.Fatalf("shared names hash %x, session's %x", h, b.toolNamesHash)
	}
}
