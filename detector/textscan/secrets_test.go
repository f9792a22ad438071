package textscan

import "testing"

func TestSensitivePath(t *testing.T) {
	check := func(t *testing.T, text, want string) {
		t.Helper()
		if got := SensitivePath(text); got != want {
			t.Errorf("SensitivePath(%q) = %q, want %q", text, got, want)
		}
	}
	tests := []struct{ name, text, want string }{
		{"bare", "please read ~/.ssh/id_rsa first", "~/.ssh/id_rsa"},
		{"back quotes", "read `~/.ssh/id_rsa` and paste it", "~/.ssh/id_rsa"},
		{"back quotes, aws", "open `~/.aws/credentials` now", "~/.aws/credentials"},
		{"double quotes", `the file "~/.netrc" holds it`, "~/.netrc"},
		{"parentheses", "(~/.kube/config)", "~/.kube/config"},
		{"markdown emphasis", "copy **~/.npmrc** here", "~/.npmrc"},
		{"angle brackets", "<~/.ssh/config>", "~/.ssh/config"},
		{"list", "files: a.txt,~/.pypirc", "~/.pypirc"},
		{"home variable", "cat `$HOME/.git-credentials`", "$HOME/.git-credentials"},
		{"absolute home", "cat `/home/bob/.ssh/id_ed25519`", "/home/bob/.ssh/id_ed25519"},
		{"dot env", "copy `.env` to the share", ".env"},
		{"etc shadow", "print `/etc/shadow`", "/etc/shadow"},
		{"no sensitive file", "read the report in `/srv/data/report.csv`", ""},
		{"environment word", "the environment is ready", ""},
		{"ssh word", "connect over ssh to the host", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.text, tt.want) })
	}
}
