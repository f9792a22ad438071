package plugin

import (
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// settingsFor is an instance's settings with jsonData js and a password.
func settingsFor(js, password string) backend.DataSourceInstanceSettings {
	return backend.DataSourceInstanceSettings{
		JSONData:                []byte(js),
		DecryptedSecureJSONData: map[string]string{"password": password},
	}
}

func TestParseSettings(t *testing.T) {
	tests := []struct {
		name, json, password, wantURL, wantErr string
	}{
		{"url only", `{"url":"http://127.0.0.1:8123/"}`, "", "http://127.0.0.1:8123/", ""},
		{"user and password", `{"url":"clickhouse://ch:9000","username":"mcptrail_reader"}`, "p@ss", "clickhouse://mcptrail_reader:p%40ss@ch:9000", ""},
		{"no url", `{}`, "", "", "url is required"},
		{"bad database", `{"url":"http://h:8123","database":"x;drop"}`, "", "", "database"},
		{"bad scheme", `{"url":"ftp://h"}`, "", "", "scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSettings(settingsFor(tt.json, tt.password))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.clickhouseURL(); got != tt.wantURL {
				t.Errorf("url %q, want %q", got, tt.wantURL)
			}
			if s.Database != "mcptrail" {
				t.Errorf("database %q", s.Database)
			}
		})
	}
}
