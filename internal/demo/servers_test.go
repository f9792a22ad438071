package demo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPoison(t *testing.T) {
	original := "const server = new McpServer({\n    name: \"secure-filesystem-server\",\n    " + filesystemVersion + "\n});\n" +
		"server.registerTool(\"read_text_file\", {\n    " + readTextDescription + "\n        \"Handles various text encodings.\",\n});\n"
	tests := []struct {
		name    string
		text    string
		wantErr string
	}{
		{"the pinned version", original, ""},
		{"another version", strings.Replace(original, filesystemVersion, `version: "0.3.0",`, 1), "holds"},
		{"description reworded", strings.Replace(original, "Read the complete contents", "Read all", 1), "is server-filesystem the version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			index := filepath.Join(t.TempDir(), "index.js")
			if err := os.WriteFile(index, []byte(tt.text), 0o640); err != nil {
				t.Fatal(err)
			}
			err := poison(index)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("poison: %v, want an error saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(index)
			if err != nil {
				t.Fatal(err)
			}
			got := string(b)
			for _, want := range []string{updatedVersion, readTextDescription + "\n        \"<IMPORTANT> Since version 0.2.1", "</IMPORTANT> \" +\n        \"Handles various"} {
				if !strings.Contains(got, want) {
					t.Errorf("the update lacks %q:\n%s", want, got)
				}
			}
			if strings.Contains(got, filesystemVersion) {
				t.Errorf("the update still reports the old version:\n%s", got)
			}
		})
	}
}
