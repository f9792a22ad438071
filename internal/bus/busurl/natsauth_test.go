package busurl

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
	"github.com/mcptrail/mcptrail/internal/testpki"
)

// authCase is a login through a bus URL: it works (want is empty) or it is
// refused with an error holding want and none of secrets, after which the
// server has logged serverLog (why it refused), if set.
type authCase struct {
	name      string
	query     string // the URL's query: nkey=FILE or creds=FILE
	want      string
	serverLog string
	secrets   []string
}

// logBuffer collects a server's log for checks.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startAuthServer starts an embedded server with cfg's authentication,
// logging at debug level to the returned buffer.
func startAuthServer(t *testing.T, cfg natsserver.Config) (*natsserver.Server, *logBuffer) {
	t.Helper()
	var log logBuffer
	cfg.DataDir = t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := natsserver.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv, &log
}

// runAuthCases opens srv through a nats:// URL per case: a successful login
// publishes and consumes records; a refused one must say why.
func runAuthCases(t *testing.T, srv *natsserver.Server, log *logBuffer, cases []authCase) {
	t.Helper()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			raw := "nats://" + srv.Addr() + "/auth" + string(rune('a'+i)) + "?partitions=2&" + tc.query
			b, err := Open(ctx, raw, bus.Config{}, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer b.Close()
				roundTrip(t, b)
				return
			}
			if err == nil {
				_ = b.Close()
				t.Fatalf("Open succeeded, want an error with %q", tc.want)
			}
			msg := err.Error()
			t.Logf("Open: %v", msg)
			if !strings.Contains(strings.ToLower(msg), strings.ToLower(tc.want)) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
			if tc.serverLog != "" {
				// The server logs the refusal as the client gets it.
				deadline := time.Now().Add(5 * time.Second)
				for !strings.Contains(log.String(), tc.serverLog) {
					if time.Now().After(deadline) {
						t.Fatalf("the server did not log %q:\n%s", tc.serverLog, log.String())
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			for _, s := range tc.secrets {
				if strings.Contains(msg, s) {
					t.Errorf("error %q contains a secret", msg)
				}
				if strings.Contains(log.String(), s) {
					t.Errorf("the server log contains a secret:\n%s", log.String())
				}
			}
		})
	}
}

// writeSecret writes data to a new file in dir, readable only by its owner.
func writeSecret(t *testing.T, dir, name, data string) string {
	t.Helper()
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestOpenNATSNKey(t *testing.T) {
	dir := t.TempDir()
	seedFile, pub, seed := testpki.NATSNKeyUser(t, dir, "collector")
	otherFile, otherPub, otherSeed := testpki.NATSNKeyUser(t, dir, "stranger")
	// A seed with a broken checksum, and the seed of an account, not a user.
	corrupt := seed[:len(seed)-4] + "AAAA"
	if corrupt == seed {
		corrupt = seed[:len(seed)-4] + "BBBB"
	}
	corruptFile := writeSecret(t, dir, "corrupt.nk", corrupt+"\n")
	account, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	accountSeed, err := account.Seed()
	if err != nil {
		t.Fatal(err)
	}
	accountFile := writeSecret(t, dir, "account.nk", string(accountSeed))
	srv, log := startAuthServer(t, natsserver.Config{NKeyUsers: []string{pub}})

	q := func(file string) string { return "nkey=" + url.QueryEscape(file) }
	runAuthCases(t, srv, log, []authCase{
		{name: "nkey user", query: q(seedFile)},
		{name: "unknown user", query: q(otherFile), want: "connect to " + srv.Addr() + " with nkey seed file " + otherFile + ": nats: authorization violation",
			serverLog: `authentication error - Nkey \"` + otherPub, secrets: []string{otherSeed}}, // slog escapes the quote
		{name: "corrupt seed", query: q(corruptFile), want: "nkey seed file " + corruptFile + ": nkeys: invalid checksum", secrets: []string{corrupt, seed}},
		{name: "account seed", query: q(accountFile), want: "nkey seed file " + accountFile + ": nats: not a valid nkey user seed", secrets: []string{string(accountSeed)}},
		{name: "missing seed file", query: q(filepath.Join(dir, "absent.nk")), want: "no such file"},
		{name: "no credentials", want: "connect to " + srv.Addr() + " with no credentials: nats: authorization violation"},
	})
}

func TestOpenNATSCreds(t *testing.T) {
	dir := t.TempDir()
	op := testpki.NewNATSOperator(t, dir, "mcptrail-op")
	good, _, goodSeed := op.User(t, "collector", time.Time{})
	soon, _, soonSeed := op.User(t, "short-lived", time.Now().Add(time.Hour))
	expired, _, expiredSeed := op.User(t, "expired", time.Now().Add(-time.Minute))
	revoked, revokedPub, revokedSeed := op.User(t, "revoked", time.Time{})
	op.Revoke(t, revokedPub)
	// A user of an account of another operator, which the server does not
	// trust.
	stranger, _, strangerSeed := testpki.NewNATSOperator(t, dir, "other-op").User(t, "stranger", time.Time{})
	garbled := writeSecret(t, dir, "garbled.creds", "-----BEGIN NATS USER JWT-----\nnot a jwt\n------END NATS USER JWT------\n")

	srv, log := startAuthServer(t, natsserver.Config{
		OperatorJWTFile: op.JWTFile,
		AccountJWTFiles: []string{op.SystemAccountFile, op.AccountFile},
	})

	q := func(file string) string { return "creds=" + url.QueryEscape(file) }
	runAuthCases(t, srv, log, []authCase{
		{name: "user", query: q(good)},
		{name: "user with an expiry", query: q(soon)},
		{name: "expired", query: q(expired), want: "with creds file " + expired + ": nats: authorization violation",
			serverLog: "claim is expired", secrets: []string{expiredSeed}},
		{name: "revoked", query: q(revoked), want: "with creds file " + revoked + ": nats: authorization violation",
			serverLog: "User authentication revoked", secrets: []string{revokedSeed}},
		{name: "untrusted operator", query: q(stranger), want: "with creds file " + stranger + ": nats: authorization violation",
			serverLog: "Account JWT lookup error", secrets: []string{strangerSeed}},
		{name: "garbled creds", query: q(garbled), want: "connect to " + srv.Addr() + " with creds file " + garbled + ": error signing nonce"},
		{name: "missing creds", query: q(filepath.Join(dir, "absent.creds")), want: "no such file"},
		{name: "no credentials", want: "connect to " + srv.Addr() + " with no credentials: nats: authorization violation",
			serverLog: "Authentication requires a user JWT", secrets: []string{goodSeed, soonSeed}},
	})
}
