package testpki

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// NATSOperator is a NATS operator made for one test, for decentralized JWT
// authentication: the operator, its system account and one application
// account with unlimited JetStream, each with a fresh nkey and a JWT signed
// by the operator. Users of the application account log in with a .creds
// file (User).
type NATSOperator struct {
	// JWTFile holds the operator JWT, for the server's trusted operators.
	JWTFile string
	// SystemAccountFile and AccountFile hold the JWTs of the system account
	// and the application account. AccountFile is rewritten by Revoke.
	SystemAccountFile string
	AccountFile       string
	// AccountPublicKey is the public nkey (A…) of the application account.
	AccountPublicKey string

	name    string
	dir     string
	opKey   nkeys.KeyPair
	accKey  nkeys.KeyPair
	account *jwt.AccountClaims
	issued  int // users issued, numbers the files
}

// NewNATSOperator makes an operator called name with its system account and
// an application account, and writes their JWTs to dir/<name>.jwt,
// dir/<name>-sys.jwt and dir/<name>-account.jwt.
func NewNATSOperator(t testing.TB, dir, name string) *NATSOperator {
	t.Helper()
	o := &NATSOperator{
		JWTFile:           filepath.Join(dir, name+".jwt"),
		SystemAccountFile: filepath.Join(dir, name+"-sys.jwt"),
		AccountFile:       filepath.Join(dir, name+"-account.jwt"),
		name:              name,
		dir:               dir,
		opKey:             newNKey(t, nkeys.PrefixByteOperator),
		accKey:            newNKey(t, nkeys.PrefixByteAccount),
	}
	sysKey := newNKey(t, nkeys.PrefixByteAccount)
	sysPub := publicKey(t, sysKey)
	o.AccountPublicKey = publicKey(t, o.accKey)

	op := jwt.NewOperatorClaims(publicKey(t, o.opKey))
	op.Name = name
	op.SystemAccount = sysPub
	writeFile(t, o.JWTFile, encode(t, op, o.opKey))

	sys := jwt.NewAccountClaims(sysPub)
	sys.Name = "SYS"
	writeFile(t, o.SystemAccountFile, encode(t, sys, o.opKey))

	o.account = jwt.NewAccountClaims(o.AccountPublicKey)
	o.account.Name = name + "-app"
	o.account.Limits.JetStreamLimits = jwt.JetStreamLimits{
		MemoryStorage: jwt.NoLimit,
		DiskStorage:   jwt.NoLimit,
		Streams:       jwt.NoLimit,
		Consumer:      jwt.NoLimit,
	}
	o.writeAccount(t)
	return o
}

// User issues a user of the application account with a JWT that expires at
// expires (never when zero), and writes its .creds file (the JWT and the
// user's seed) to a new file in dir. It returns the file, the user's public
// nkey (U…) and its seed, so tests can check the seed never shows.
func (o *NATSOperator) User(t testing.TB, name string, expires time.Time) (credsFile, pub, seed string) {
	t.Helper()
	key := newNKey(t, nkeys.PrefixByteUser)
	pub = publicKey(t, key)
	uc := jwt.NewUserClaims(pub)
	uc.Name = name
	uc.IssuerAccount = o.AccountPublicKey
	if !expires.IsZero() {
		uc.Expires = expires.Unix()
	}
	userJWT := encode(t, uc, o.accKey)
	s, err := key.Seed()
	if err != nil {
		t.Fatalf("testpki: seed of NATS user %q: %v", name, err)
	}
	creds, err := jwt.FormatUserConfig(string(userJWT), s)
	if err != nil {
		t.Fatalf("testpki: creds of NATS user %q: %v", name, err)
	}
	o.issued++
	credsFile = filepath.Join(o.dir, o.name+"-user-"+name+"-"+strconv.Itoa(o.issued)+".creds")
	writeFile(t, credsFile, creds)
	return credsFile, pub, string(s)
}

// Revoke revokes every JWT of the user pub issued until now, and rewrites
// AccountFile with the revocation. A server reads it when it (re)starts.
func (o *NATSOperator) Revoke(t testing.TB, pub string) {
	t.Helper()
	o.account.Revoke(pub)
	o.writeAccount(t)
}

func (o *NATSOperator) writeAccount(t testing.TB) {
	t.Helper()
	data := encode(t, o.account, o.opKey)
	if err := os.WriteFile(o.AccountFile, data, 0o600); err != nil {
		t.Fatalf("testpki: writing %s: %v", o.AccountFile, err)
	}
}

// NATSNKeyUser makes a NATS user nkey and writes its seed to a new file
// dir/<name>.nk. It returns the file, the public key (U…), which the server
// trusts, and the seed, so tests can check the seed never shows.
func NATSNKeyUser(t testing.TB, dir, name string) (seedFile, pub, seed string) {
	t.Helper()
	key := newNKey(t, nkeys.PrefixByteUser)
	s, err := key.Seed()
	if err != nil {
		t.Fatalf("testpki: seed of nkey user %q: %v", name, err)
	}
	seedFile = filepath.Join(dir, name+".nk")
	writeFile(t, seedFile, append(s, '\n'))
	return seedFile, publicKey(t, key), string(s)
}

func newNKey(t testing.TB, prefix nkeys.PrefixByte) nkeys.KeyPair {
	t.Helper()
	kp, err := nkeys.CreatePair(prefix)
	if err != nil {
		t.Fatalf("testpki: making an nkey: %v", err)
	}
	return kp
}

func publicKey(t testing.TB, kp nkeys.KeyPair) string {
	t.Helper()
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatalf("testpki: public nkey: %v", err)
	}
	return pub
}

// encode signs the claims c with kp.
func encode(t testing.TB, c jwt.Claims, kp nkeys.KeyPair) []byte {
	t.Helper()
	s, err := c.Encode(kp)
	if err != nil {
		t.Fatalf("testpki: signing a NATS JWT: %v", err)
	}
	return []byte(s)
}

// writeFile writes data to a new file readable only by its owner; it fails
// rather than overwrite a file.
func writeFile(t testing.TB, file string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatalf("testpki: creating %s: %v", file, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("testpki: writing %s: %v", file, err)
	}
}
