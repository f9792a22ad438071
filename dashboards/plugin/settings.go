package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/mcptrail/mcptrail/processor/store"
	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

// Settings configure one data-source instance. Grafana stores them as the
// instance's jsonData (URL, Username, Database) and secureJsonData
// (password).
type Settings struct {
	// URL is the ClickHouse server: clickhouse://host:9000 (native) or
	// http(s)://host:8123 (HTTP), as processor/store.ParseURL takes it.
	URL string `json:"url"`
	// Username, if set, replaces the user in URL; the password comes from
	// secureJsonData.password.
	Username string `json:"username"`
	// Database holds the mcptrail tables (default mcptrail).
	Database string `json:"database"`

	password string
}

// ParseSettings reads an instance's settings.
func ParseSettings(s backend.DataSourceInstanceSettings) (Settings, error) {
	var out Settings
	if len(s.JSONData) > 0 {
		if err := json.Unmarshal(s.JSONData, &out); err != nil {
			return out, fmt.Errorf("plugin: settings: %w", err)
		}
	}
	if out.URL == "" {
		return out, errors.New("plugin: settings: url is required (clickhouse://host:9000 or http://host:8123)")
	}
	if out.Database == "" {
		out.Database = chschema.DefaultDatabase
	}
	if !store.ValidIdent(out.Database) {
		return out, fmt.Errorf("plugin: settings: database %q: want letters, digits and _", out.Database)
	}
	out.password = s.DecryptedSecureJSONData["password"]
	if _, err := store.ParseURL(out.clickhouseURL()); err != nil {
		return out, fmt.Errorf("plugin: settings: %w", err)
	}
	return out, nil
}

// clickhouseURL is URL with the username and password put in.
func (s Settings) clickhouseURL() string {
	u, err := url.Parse(s.URL)
	if err != nil || (s.Username == "" && s.password == "") {
		return s.URL
	}
	user := s.Username
	if user == "" && u.User != nil {
		user = u.User.Username()
	}
	if s.password != "" {
		u.User = url.UserPassword(user, s.password)
	} else {
		u.User = url.User(user)
	}
	return u.String()
}
