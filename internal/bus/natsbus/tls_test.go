package natsbus

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
)

// testPKI is a CA with a server and a client certificate, as PEM files.
type testPKI struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, caCert := newCert(t, "mcptrail test CA", nil, nil, true)
	srvKey, srvCert := newCert(t, "127.0.0.1", caCert, caKey, false)
	cliKey, cliCert := newCert(t, "mcptrail client", caCert, caKey, false)
	p := testPKI{
		caFile:     filepath.Join(dir, "ca.pem"),
		serverCert: filepath.Join(dir, "server.pem"),
		serverKey:  filepath.Join(dir, "server-key.pem"),
		clientCert: filepath.Join(dir, "client.pem"),
		clientKey:  filepath.Join(dir, "client-key.pem"),
	}
	writePEM(t, p.caFile, "CERTIFICATE", caCert.Raw)
	writePEM(t, p.serverCert, "CERTIFICATE", srvCert.Raw)
	writePEM(t, p.clientCert, "CERTIFICATE", cliCert.Raw)
	writeKey(t, p.serverKey, srvKey)
	writeKey(t, p.clientKey, cliKey)
	return p
}

// newCert makes an ECDSA certificate signed by parent (self-signed when
// parent is nil), valid for 127.0.0.1.
func newCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	if isCA {
		tmpl.IsCA = true
		tmpl.BasicConstraintsValid = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
		tmpl.IPAddresses = nil
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeKey(t *testing.T, path string, key *ecdsa.PrivateKey) {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, "EC PRIVATE KEY", der)
}

func TestTLSAndAuth(t *testing.T) {
	pki := newTestPKI(t)
	tests := []struct {
		name    string
		server  natsserver.Config
		tls     *bus.TLSConfig
		auth    bus.Auth
		wantErr string // substring of the Open error; empty: success
	}{
		{
			name:   "tls and token",
			server: natsserver.Config{Token: "s3cret", TLSCertFile: pki.serverCert, TLSKeyFile: pki.serverKey},
			tls:    &bus.TLSConfig{CAFile: pki.caFile},
			auth:   bus.Auth{Token: "s3cret"},
		},
		{
			name:    "wrong token",
			server:  natsserver.Config{Token: "s3cret", TLSCertFile: pki.serverCert, TLSKeyFile: pki.serverKey},
			tls:     &bus.TLSConfig{CAFile: pki.caFile},
			auth:    bus.Auth{Token: "wrong"},
			wantErr: "authorization violation",
		},
		{
			name:    "unknown CA",
			server:  natsserver.Config{TLSCertFile: pki.serverCert, TLSKeyFile: pki.serverKey},
			tls:     &bus.TLSConfig{},
			wantErr: "certificate",
		},
		{
			name:   "mutual tls and user",
			server: natsserver.Config{User: "collector", Password: "pw", TLSCertFile: pki.serverCert, TLSKeyFile: pki.serverKey, TLSClientCAFile: pki.caFile},
			tls:    &bus.TLSConfig{CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey},
			auth:   bus.Auth{User: "collector", Password: "pw"},
		},
		{
			name:    "mutual tls without client certificate",
			server:  natsserver.Config{TLSCertFile: pki.serverCert, TLSKeyFile: pki.serverKey, TLSClientCAFile: pki.caFile},
			tls:     &bus.TLSConfig{CAFile: pki.caFile},
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
