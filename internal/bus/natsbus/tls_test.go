package natsbus

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
	"github.com/mcptrail/mcptrail/internal/testpki"
)

func TestTLSAndAuth(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, dir, "mcptrail-test-ca")
	serverCert, serverKey := ca.Server(t, dir, "127.0.0.1")
	clientCert, clientKey := ca.Client(t, dir, "mcptrail client")
	tests := []struct {
		name    string
		server  natsserver.Config
		tls     *bus.TLSConfig
		auth    bus.Auth
		wantErr string // substring of the Open error; empty: success
	}{
		{
			name:   "tls and token",
			server: natsserver.Config{Token: "s3cret", TLSCertFile: serverCert, TLSKeyFile: serverKey},
			tls:    &bus.TLSConfig{CAFile: ca.CertFile},
			auth:   bus.Auth{Token: "s3cret"},
		},
		{
			name:    "wrong token",
			server:  natsserver.Config{Token: "s3cret", TLSCertFile: serverCert, TLSKeyFile: serverKey},
			tls:     &bus.TLSConfig{CAFile: ca.CertFile},
			auth:    bus.Auth{Token: "wrong"},
			wantErr: "authorization violation",
		},
		{
			name:    "unknown CA",
			server:  natsserver.Config{TLSCertFile: serverCert, TLSKeyFile: serverKey},
			tls:     &bus.TLSConfig{},
			wantErr: "certificate",
		},
		{
			name:   "mutual tls and user",
			server: natsserver.Config{User: "collector", Password: "pw", TLSCertFile: serverCert, TLSKeyFile: serverKey, TLSClientCAFile: ca.CertFile},
			tls:    &bus.TLSConfig{CAFile: ca.CertFile, CertFile: clientCert, KeyFile: clientKey},
			auth:   bus.Auth{User: "collector", Password: "pw"},
		},
		{
			name:    "mutual tls without client certificate",
			server:  natsserver.Config{TLSCertFile: serverCert, TLSKeyFile: serverKey, TLSClientCAFile: ca.CertFile},
			tls:     &bus.TLSConfig{CAFile: ca.CertFile},
			wantErr: "connect to 127.0.0.1:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.server)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			b, err := Open(ctx, bus.Config{
				Servers: []string{ts.addr()},
				Topic:   testTopic("tls"),
				TLS:     tt.tls,
				Auth:    tt.auth,
			})
			if tt.wantErr != "" {
				if err == nil {
					b.Close()
					t.Fatalf("Open succeeded, want an error with %q", tt.wantErr)
				}
				if !strings.Contains(strings.ToLower(err.Error()), tt.wantErr) || !strings.Contains(err.Error(), ts.addr()) {
					t.Fatalf("Open: %v, want an error with %q naming %s", err, tt.wantErr, ts.addr())
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer b.Close()
			publishSync(t, b, msg("k", "over tls"))
			c, err := b.Consumer(ctx, bus.ConsumerConfig{Group: "tls"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			d := fetchN(t, c, 1, 10*time.Second)[0]
			if string(d.Value) != "over tls" {
				t.Fatalf("got %q", d.Value)
			}
			if err := c.Ack(ctx, d); err != nil {
				t.Fatal(err)
			}
		})
	}
}
