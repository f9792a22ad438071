package store

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url      string
		protocol clickhouse.Protocol
		addr     string
		db       string
		tls      bool
	}{
		{"clickhouse://u:secret@ch.example:9000/audit", clickhouse.Native, "ch.example:9000", "audit", false},
		{"clickhouse://ch.example:9440/audit?secure=true", clickhouse.Native, "ch.example:9440", "audit", true},
		{"tcp://ch.example:9000", clickhouse.Native, "ch.example:9000", "", false},
		{"http://127.0.0.1:8123/", clickhouse.HTTP, "127.0.0.1:8123", "", false},
		{"http://127.0.0.1:8123/db?compress=false", clickhouse.HTTP, "127.0.0.1:8123", "db", false},
		{"https://u:secret@ch.example:8443/db", clickhouse.HTTP, "ch.example:8443", "db", true},
	} {
		o, err := ParseURL(tc.url)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if o.Protocol != tc.protocol || strings.Join(o.Addr, ",") != tc.addr || o.Auth.Database != tc.db || (o.TLS != nil) != tc.tls {
			t.Errorf("%s: got protocol %v addr %v db %q tls %v", tc.url, o.Protocol, o.Addr, o.Auth.Database, o.TLS != nil)
		}
		if o.Compression != nil && o.Compression.Method != clickhouse.CompressionNone {
			t.Errorf("%s: compression %v, want none unless asked", tc.url, o.Compression.Method)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"mysql://u:hunter2@h:3306/db", `scheme "mysql"`},
		{"clickhouse:///db?password=hunter2", "no host"},
		{"http://u:hunter2@h:8123/db?secure=true", "http with TLS"},
		{"clickhouse://u:hunter2@h:9000/db?dial_timeout=soon", "dial timeout"},
		{"clickhouse://u:hun%zzter2@h:9000/", "cannot parse"},
	} {
		_, err := ParseURL(tc.url)
		if err == nil {
			t.Errorf("%s: no error", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not mention %q", tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "hun%zzter2") {
			t.Errorf("%s: error shows the password: %v", tc.url, err)
		}
	}
}

func TestRedact(t *testing.T) {
	got := Redact("clickhouse://u:hunter2@h:9000/db?password=hunter2&secure=true")
	if strings.Contains(got, "hunter2") || !strings.Contains(got, "u:xxxxx@h:9000") {
		t.Errorf("Redact: %s", got)
	}
}

// TestOpenUnreachable checks that a connection failure names the address
// and not the password.
func TestOpenUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, u := range []string{
		"http://u:hunter2@" + addr + "/db",
		"clickhouse://u:hunter2@" + addr + "/db?dial_timeout=2s",
	} {
		conn, err := Open(ctx, u)
		if err == nil {
			conn.Close()
			t.Fatalf("%s: no error", Redact(u))
		}
		if !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error %q: want the address and no password", Redact(u), err)
		}
	}
}
