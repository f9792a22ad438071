package testpki_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/mcptrail/mcptrail/internal/testpki"
)

// readCert parses the one PEM certificate in file.
func readCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("%s does not hold exactly one PEM certificate", file)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return cert
}

// pool is a cert pool of the CA certificate in caFile.
func pool(t *testing.T, caFile string) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	p.AddCert(readCert(t, caFile))
	return p
}

func TestServerAndClient(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, dir, "test-ca")
	other := testpki.NewCA(t, dir, "other-ca")
	srvCert, srvKey := ca.Server(t, dir, "127.0.0.1", "localhost")
	cliCert, cliKey := ca.Client(t, dir, "test client")
	otherCert, _ := other.Server(t, dir, "127.0.0.1")

	for _, kp := range [][2]string{{srvCert, srvKey}, {cliCert, cliKey}} {
		if _, err := tls.LoadX509KeyPair(kp[0], kp[1]); err != nil {
			t.Errorf("LoadX509KeyPair(%s, %s): %v", kp[0], kp[1], err)
		}
		data, err := os.ReadFile(kp[1])
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := pem.Decode(data); b == nil || b.Type != "PRIVATE KEY" {
			t.Errorf("%s is not a PKCS#8 PEM key", kp[1])
		}
	}

	serverOpts := x509.VerifyOptions{
		Roots:     pool(t, ca.CertFile),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srv := readCert(t, srvCert)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		opts := serverOpts
		opts.DNSName = host
		if _, err := srv.Verify(opts); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	opts := serverOpts
	opts.DNSName = "127.0.0.2"
	if _, err := srv.Verify(opts); err == nil {
		t.Error("server certificate verifies for 127.0.0.2")
	}

	cli := readCert(t, cliCert)
	if !slices.Contains(cli.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		t.Errorf("client certificate has extended key usages %v, want client auth", cli.ExtKeyUsage)
	}
	if cli.Subject.CommonName != "test client" {
		t.Errorf("client certificate common name %q, want %q", cli.Subject.CommonName, "test client")
	}
	if _, err := cli.Verify(x509.VerifyOptions{
		Roots:     pool(t, ca.CertFile),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		t.Errorf("client certificate: %v", err)
	}

	opts = serverOpts
	opts.DNSName = "127.0.0.1"
	_, err := readCert(t, otherCert).Verify(opts)
	if !errors.As(err, new(x509.UnknownAuthorityError)) {
		t.Errorf("a certificate of another CA: %v, want x509.UnknownAuthorityError", err)
	}
}
