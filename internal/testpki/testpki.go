// Package testpki makes throwaway certificate authorities and certificates
// for tests of TLS clients and servers on loopback, and NATS nkeys, operators,
// accounts and user .creds files for tests of NATS authentication. It is test
// support: import it only from _test.go files.
//
// Keys are ECDSA P-256 and are written unencrypted as PKCS#8 ("PRIVATE KEY"),
// which both Go's crypto/tls and Kafka's PEM keystore accept. Certificates are
// valid from an hour ago to a day from now.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// CA is a self-signed certificate authority made for one test.
type CA struct {
	// CertFile is the PEM file of the CA certificate, for a trust store.
	CertFile string
	// Cert is the CA certificate.
	Cert *x509.Certificate

	name   string
	key    *ecdsa.PrivateKey
	issued atomic.Int64 // certificates issued, numbers the files
}

// NewCA makes a CA with the common name name and writes its certificate to
// dir/name.pem.
func NewCA(t testing.TB, dir, name string) *CA {
	t.Helper()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	ca := &CA{CertFile: filepath.Join(dir, name+".pem"), name: name}
	ca.Cert, ca.key = create(t, tmpl, nil, nil)
	writePEM(t, ca.CertFile, "CERTIFICATE", ca.Cert.Raw)
	return ca
}

// Server issues a server certificate (extended key usage server auth) for
// hosts, each an IP address or a DNS name, the first also its common name. It
// writes the certificate and its key to new files in dir and returns their
// names.
func (ca *CA) Server(t testing.TB, dir string, hosts ...string) (certFile, keyFile string) {
	t.Helper()
	if len(hosts) == 0 {
		t.Fatal("testpki: Server needs at least one host")
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.issue(t, dir, "server", tmpl)
}

// Client issues a client certificate (extended key usage client auth) with
// the common name commonName, for mutual TLS. It writes the certificate and
// its key to new files in dir and returns their names.
func (ca *CA) Client(t testing.TB, dir, commonName string) (certFile, keyFile string) {
	t.Helper()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return ca.issue(t, dir, "client", tmpl)
}

// issue signs tmpl and writes dir/<ca>-<kind>-<n>.pem and .key.
func (ca *CA) issue(t testing.TB, dir, kind string, tmpl *x509.Certificate) (certFile, keyFile string) {
	t.Helper()
	cert, key := create(t, tmpl, ca.Cert, ca.key)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("testpki: encoding the key of %q: %v", tmpl.Subject.CommonName, err)
	}
	base := filepath.Join(dir, fmt.Sprintf("%s-%s-%d", ca.name, kind, ca.issued.Add(1)))
	certFile, keyFile = base+".pem", base+".key"
	writePEM(t, certFile, "CERTIFICATE", cert.Raw)
	writePEM(t, keyFile, "PRIVATE KEY", pkcs8)
	return certFile, keyFile
}

// create makes a fresh key and a certificate for it from tmpl, signed by
// parent and parentKey, or self-signed when parent is nil.
func create(t testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	cn := tmpl.Subject.CommonName
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testpki: generating a key for %q: %v", cn, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("testpki: serial number for %q: %v", cn, err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatalf("testpki: signing the certificate of %q: %v", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testpki: parsing the certificate of %q: %v", cn, err)
	}
	return cert, key
}

// writePEM writes one PEM block to a new file, readable only by its owner;
// it fails rather than overwrite a file.
func writePEM(t testing.TB, file, typ string, der []byte) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatalf("testpki: creating %s: %v", file, err)
	}
	err = pem.Encode(f, &pem.Block{Type: typ, Bytes: der})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("testpki: writing %s: %v", file, err)
	}
}
