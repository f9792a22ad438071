package natsserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/mcptrail/mcptrail/internal/testpki"
)

func TestStartAuthErrors(t *testing.T) {
	dir := t.TempDir()
	_, pub, seed := testpki.NATSNKeyUser(t, dir, "user")
	op := testpki.NewNATSOperator(t, dir, "op")
	other := testpki.NewNATSOperator(t, dir, "other")
	tests := []struct {
		name   string
		cfg    Config
		want   string
		secret string // must not be in the error
	}{
		{name: "token and user", cfg: Config{Token: "t", User: "u", Password: "p"}, want: "a token or a user, not both"},
		{name: "user without password", cfg: Config{User: "u"}, want: "user needs a password"},
		{name: "token and nkey", cfg: Config{Token: "t", NKeyUsers: []string{pub}}, want: "a token or nkey users, not both"},
		{name: "seed for a public key", cfg: Config{NKeyUsers: []string{pub, seed}}, want: "nkey user 2 is a seed", secret: seed},
		{name: "not an nkey", cfg: Config{NKeyUsers: []string{"UBOGUS"}}, want: `nkey user "UBOGUS" is not a public user nkey`},
		{name: "account key for a user", cfg: Config{NKeyUsers: []string{op.AccountPublicKey}}, want: "is not a public user nkey"},
		{name: "operator and token", cfg: Config{Token: "t", OperatorJWTFile: op.JWTFile, AccountJWTFiles: []string{op.SystemAccountFile}},
			want: "excludes a token, a user and nkey users"},
		{name: "operator and nkey", cfg: Config{NKeyUsers: []string{pub}, OperatorJWTFile: op.JWTFile, AccountJWTFiles: []string{op.SystemAccountFile}},
			want: "excludes a token, a user and nkey users"},
		{name: "accounts without operator", cfg: Config{AccountJWTFiles: []string{op.AccountFile}}, want: "account JWTs need an operator JWT"},
		{name: "missing operator JWT", cfg: Config{OperatorJWTFile: dir + "/absent.jwt"}, want: "operator JWT " + dir + "/absent.jwt"},
		{name: "not an operator JWT", cfg: Config{OperatorJWTFile: op.AccountFile}, want: "operator JWT " + op.AccountFile},
		{name: "no system account", cfg: Config{OperatorJWTFile: op.JWTFile, AccountJWTFiles: []string{op.AccountFile}},
			want: "no account JWT for the system account"},
		{name: "account of another operator", cfg: Config{OperatorJWTFile: op.JWTFile, AccountJWTFiles: []string{op.SystemAccountFile, other.AccountFile}},
			want: "account JWT " + other.AccountFile + " (account " + other.AccountPublicKey + ") is not signed by operator"},
		{name: "operator JWT for an account", cfg: Config{OperatorJWTFile: op.JWTFile, AccountJWTFiles: []string{op.JWTFile}},
			want: "account JWT " + op.JWTFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.DataDir = t.TempDir()
			srv, err := Start(context.Background(), tt.cfg)
			if err == nil {
				srv.Shutdown()
				t.Fatalf("Start succeeded, want an error with %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start: %v, want an error with %q", err, tt.want)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("Start: %v: the error shows the seed", err)
			}
		})
	}
}

// TestNKeyUsersWithUser checks that nkey users and a user with a password
// can log in to one server, and nobody else.
func TestNKeyUsersWithUser(t *testing.T) {
	dir := t.TempDir()
	seedFile, pub, _ := testpki.NATSNKeyUser(t, dir, "collector")
	strangerFile, _, _ := testpki.NATSNKeyUser(t, dir, "stranger")
	srv, err := Start(context.Background(), Config{DataDir: t.TempDir(), User: "ana", Password: "pw", NKeyUsers: []string{pub}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nkey := func(file string) nats.Option {
		o, err := nats.NkeyOptionFromSeed(file)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	tests := []struct {
		name string
		opt  nats.Option
		ok   bool
	}{
		{"nkey user", nkey(seedFile), true},
		{"user and password", nats.UserInfo("ana", "pw"), true},
		{"unknown nkey", nkey(strangerFile), false},
		{"wrong password", nats.UserInfo("ana", "nope"), false},
		{"no credentials", func(*nats.Options) error { return nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := nats.Connect(srv.ClientURL(), tt.opt, nats.Timeout(5*time.Second))
			if tt.ok != (err == nil) {
				t.Fatalf("Connect: %v, want success %v", err, tt.ok)
			}
			if err != nil {
				if !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
					t.Fatalf("Connect: %v, want an authorization violation", err)
				}
				return
			}
			defer nc.Close()
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
