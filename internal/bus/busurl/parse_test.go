package busurl

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mcptrail/mcptrail/internal/bus"
)

func TestParse(t *testing.T) {
	tests := []struct {
		raw  string
		want Spec
	}{
		{"embedded", Spec{Kind: Embedded, Listen: DefaultEmbeddedListen}},
		{"embedded:///var/lib/mcptrail/bus", Spec{Kind: Embedded, Listen: DefaultEmbeddedListen, Config: bus.Config{DataDir: "/var/lib/mcptrail/bus"}}},
		{"embedded:///d?listen=127.0.0.1:0&partitions=4", Spec{Kind: Embedded, Listen: "127.0.0.1:0", Config: bus.Config{DataDir: "/d", Partitions: 4}}},
		{"nats://127.0.0.1", Spec{Kind: NATS, Config: bus.Config{Servers: []string{"127.0.0.1:4222"}}}},
		{"nats://s3cret@n1:4222,n2:4333/audit?partitions=16", Spec{Kind: NATS, Config: bus.Config{
			Servers: []string{"n1:4222", "n2:4333"}, Topic: "audit", Partitions: 16, Auth: bus.Auth{Token: "s3cret"}}}},
		{"nats://ana:pw@n1?tls_ca=/etc/ca.pem", Spec{Kind: NATS, Config: bus.Config{
			Servers: []string{"n1:4222"}, Auth: bus.Auth{User: "ana", Password: "pw"},
			TLS: &bus.TLSConfig{CAFile: "/etc/ca.pem"}}}},
		{"nats://n1?creds=/etc/a.creds", Spec{Kind: NATS, Config: bus.Config{
			Servers: []string{"n1:4222"}, Auth: bus.Auth{CredsFile: "/etc/a.creds"}}}},
		{"tls://n1?nkey=/etc/a.nk", Spec{Kind: NATS, Config: bus.Config{
			Servers: []string{"n1:4222"}, Auth: bus.Auth{NKeySeedFile: "/etc/a.nk"}, TLS: &bus.TLSConfig{}}}},
		{"tls://n1", Spec{Kind: NATS, Config: bus.Config{Servers: []string{"n1:4222"}, TLS: &bus.TLSConfig{}}}},
		{"kafka://b1:9092,b2/mcp-capture", Spec{Kind: Kafka, Config: bus.Config{Servers: []string{"b1:9092", "b2:9092"}, Topic: "mcp-capture"}}},
		{"kafka://u:p@b1/t?sasl=SCRAM-SHA-512&tls=true&max_record_bytes=2048", Spec{Kind: Kafka, Config: bus.Config{
			Servers: []string{"b1:9092"}, Topic: "t", MaxRecordBytes: 2048, TLS: &bus.TLSConfig{},
			Auth: bus.Auth{User: "u", Password: "p", SASL: "scram-sha-512"}}}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.raw)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.raw, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) =\n %+v\nwant\n %+v", tt.raw, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"redis://h", `unknown scheme "redis"`},
		{"nats://", "no server address"},
		{"nats://h?partition=3", `unknown parameter "partition"`},
		{"nats://h?sasl=plain", `unknown parameter "sasl"`},
		{"kafka://h/t?creds=x", `unknown parameter "creds"`},
		{"kafka://h/t?partitions=-1", "partitions must be a positive integer"},
		{"kafka://h/t?tls=maybe", "tls must be true or false"},
		{"kafka://h/t?tls_cert=c.pem", "tls_cert and tls_key must be given together"},
		{"kafka://u:p@h/t", "needs both sasl=MECHANISM and user:password"},
		{"kafka://h/t?sasl=plain", "needs both sasl=MECHANISM and user:password"},
		{"kafka://u:p@h/t?sasl=kerberos", "sasl must be plain"},
		{"kafka://u@h/t", "need user:password"},
		{"nats://h/a b", "may not contain"},
		{"embedded://host/dir", "not a host"},
		{"embedded:///d?listen=4222", "listen must be host:port"},
		{"nats://h?listen=1.2.3.4:5", `unknown parameter "listen"`},
		{"nats://ana:pw@h?creds=a.creds", "one of a token, user:password, creds=FILE and nkey=FILE"},
		{"nats://tok@h?nkey=a.nk", "one of a token, user:password, creds=FILE and nkey=FILE"},
		{"nats://h?creds=a.creds&nkey=a.nk", "one of a token, user:password, creds=FILE and nkey=FILE"},
		{"embedded:///d?nkey=a.nk", `unknown parameter "nkey"`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.raw)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q): error %v, want one containing %q", tt.raw, err, tt.want)
		}
	}
}

func TestParseErrorHidesSecrets(t *testing.T) {
	_, err := Parse("nats://topsecret@h?bogus=1")
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Errorf("error leaks the token: %v", err)
	}
}
