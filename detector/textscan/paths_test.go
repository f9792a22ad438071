package textscan

import (
	"slices"
	"testing"
)

// TestValuesPaths checks which tokens Values takes for file-system paths:
// relative paths named in text count, prose with slashes does not.
func TestValuesPaths(t *testing.T) {
	paths := func(text string) []string {
		var out []string
		for _, v := range Values(nil, text) {
			if v.Kind == ValuePath {
				out = append(out, v.Norm)
			}
		}
		return out
	}
	check := func(t *testing.T, text string, want []string) {
		t.Helper()
		if got := paths(text); !slices.Equal(got, want) {
			t.Errorf("paths in %q = %q, want %q", text, got, want)
		}
	}
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"relative file and folder", "copy projects/billing-service/.env into shared/public/partners/", []string{"projects/billing-service/.env", "shared/public/partners"}},
		{"file with a sentence end", "open projects/Billing/.env, then save it to shared/public/acme-onboarding.txt.", []string{"projects/billing/.env", "shared/public/acme-onboarding.txt"}},
		{"one slash and an extension", "see notes/todo.md for the list", []string{"notes/todo.md"}},
		{"one slash and a dot-file", "read config/.npmrc", []string{"config/.npmrc"}},
		{"dot folder", "read .ssh/config", []string{".ssh/config"}},
		{"folder with a trailing slash", "put it in exports/partners/", []string{"exports/partners"}},
		{"dot-file alone", "append the contents of .env.local and .bashrc", []string{".env.local", ".bashrc"}},
		{"dot relative", "run ./scripts/deploy.sh and ../secrets/key.pem", []string{"./scripts/deploy.sh", "../secrets/key.pem"}},
		{"dot relative, one name", "run ./deploy", []string{"./deploy"}},
		{"absolute", "read /etc/app/config.yaml and ~/.aws/credentials", []string{"/etc/app/config.yaml", "~/.aws/credentials"}},
		{"quoted", "save to `reports/q3/summary.csv`", []string{"reports/q3/summary.csv"}},
		// Prose with slashes is not a path.
		{"and/or", "and/or either/or input/output TCP/IP client/server", nil},
		{"dates and fractions", "on 2024/05/01, 3/4 of 1/2/3, 24/7", nil},
		{"abbreviations", "e.g./i.e. at 9 a.m./p.m. version v1.2/v1.3", nil},
		{"words", "the .NET runtime, the environment, the env file", nil},
		{"url", "see https://example.com/a/b/c.txt and example.com/a/b", nil},
		{"email", "mail ops/team@example.com", nil},
		{"single slash word pair", "read owner/repo", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.text, tt.want) })
	}
}

// TestValuesPathDomains checks that host names keep their kind.
func TestValuesPathDomains(t *testing.T) {
	check := func(t *testing.T, text string, want Value) {
		t.Helper()
		if got := Values(nil, text); !slices.Contains(got, want) {
			t.Errorf("Values(%q) = %v, want %v in it", text, got, want)
		}
	}
	tests := []struct {
		name string
		text string
		want Value
	}{
		{"domain with a path", "post it to collect.example.net/upload/v2", Value{ValueDomain, "collect.example.net/upload/v2"}},
		{"url", "post it to https://collect.example.net/a/b", Value{ValueURL, "collect.example.net/a/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.text, tt.want) })
	}
}
