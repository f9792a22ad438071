package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ParseURL turns a ClickHouse URL into clickhouse-go options. The scheme
// picks the protocol: clickhouse or tcp for the native protocol, http or
// https for the HTTP interface (https requires nothing more: it implies
// secure=true). The path is the default database of the connection. Errors
// never contain the password.
func ParseURL(rawURL string) (*clickhouse.Options, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse errors quote the input, which may hold a password.
		return nil, errors.New("clickhouse URL: cannot parse it (want clickhouse://user:pass@host:9000/db or http://host:8123/db; URL-encode special characters in the password)")
	}
	if u.Host == "" {
		return nil, fmt.Errorf("clickhouse URL %s: no host (want clickhouse://user:pass@host:9000/db or http://host:8123/db)", Redact(rawURL))
	}
	dsn := rawURL
	switch strings.ToLower(u.Scheme) {
	case "clickhouse", "tcp":
	case "http":
	case "https":
		if q := u.Query(); !q.Has("secure") {
			q.Set("secure", "true")
			u.RawQuery = q.Encode()
			dsn = u.String()
		}
	default:
		return nil, fmt.Errorf("clickhouse URL %s: scheme %q: want clickhouse:// or tcp:// (native protocol), http:// or https:// (HTTP interface)", Redact(rawURL), u.Scheme)
	}
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("clickhouse URL %s: %s", Redact(rawURL), scrub(err.Error(), u))
	}
	return opts, nil
}

// Open connects to the ClickHouse server at rawURL (see ParseURL) and pings
// it. The caller closes the connection.
func Open(ctx context.Context, rawURL string) (driver.Conn, error) {
	opts, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	where := Describe(opts)
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: open %s: %s", where, scrubPassword(err.Error(), opts.Auth.Password))
	}
	if err := conn.Ping(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("clickhouse: connect to %s: %s", where, scrubPassword(err.Error(), opts.Auth.Password))
	}
	return conn, nil
}

// Describe names the server of opts for messages: its addresses and
// protocol, such as "127.0.0.1:8123 (http)". It never includes credentials.
func Describe(opts *clickhouse.Options) string {
	proto := opts.Protocol.String()
	if opts.TLS != nil {
		proto += ", TLS"
	}
	return strings.Join(opts.Addr, ",") + " (" + proto + ")"
}

// Redact returns rawURL with the password (in the user info or in a
// password parameter) replaced by "xxxxx", for messages.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// scrub removes the passwords of u from a message.
func scrub(msg string, u *url.URL) string {
	if p, ok := u.User.Password(); ok {
		msg = scrubPassword(msg, p)
	}
	return scrubPassword(msg, u.Query().Get("password"))
}

// scrubPassword replaces every occurrence of password in msg (also in
// URL-escaped form) by "xxxxx".
func scrubPassword(msg, password string) string {
	if password == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, password, "xxxxx")
	for _, esc := range []string{url.QueryEscape(password), url.PathEscape(password)} {
		if esc != password {
			msg = strings.ReplaceAll(msg, esc, "xxxxx")
		}
	}
	return msg
}
