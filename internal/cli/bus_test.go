package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsbus"
	"github.com/mcptrail/mcptrail/internal/syncbuf"
	"github.com/mcptrail/mcptrail/internal/testpki"
)

var busURL = regexp.MustCompile(`url=nats://(127\.0\.0\.1:\d+)`)

// runningBus is `mcptrail bus` run by a test.
type runningBus struct {
	addr   string // where clients connect
	cancel context.CancelFunc
	code   chan int // its exit code, once it ended
	stderr *syncbuf.Buffer
}

// startBus runs `mcptrail bus` with args on a free port and a new data dir
// and waits until it logs its client URL.
func startBus(t *testing.T, args ...string) *runningBus {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rb := &runningBus{cancel: cancel, code: make(chan int, 1), stderr: &syncbuf.Buffer{}}
	args = append([]string{"bus", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...)
	go func() {
		rb.code <- Main(ctx, args, strings.NewReader(""), &syncbuf.Buffer{}, rb.stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := busURL.FindStringSubmatch(rb.stderr.String()); m != nil {
			rb.addr = m[1]
			return rb
		}
		select {
		case c := <-rb.code:
			t.Fatalf("bus exited with %d before it was ready: %s", c, rb.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no client URL logged: %s", rb.stderr.String())
		}
	}
}

// stop cancels the bus and checks that it stops cleanly.
func (rb *runningBus) stop(t *testing.T) {
	t.Helper()
	rb.cancel()
	select {
	case c := <-rb.code:
		if c != 0 {
			t.Fatalf("bus exited with %d: %s", c, rb.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("bus did not stop after its context was cancelled")
	}
	if !strings.Contains(rb.stderr.String(), "bus stopped") {
		t.Errorf("no stop logged: %s", rb.stderr.String())
	}
}

func TestBusCommand(t *testing.T) {
	t.Setenv("MCPTRAIL_BUS_TOKEN", "from-env")
	rb := startBus(t)
	ctx := context.Background()
	addr := rb.addr

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"token from the environment", "from-env", true},
		{"wrong token", "nope", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			octx, ocancel := context.WithTimeout(ctx, 10*time.Second)
			defer ocancel()
			b, err := natsbus.Open(octx, bus.Config{Servers: []string{addr}, Topic: "cli-test", Partitions: 2, Auth: bus.Auth{Token: tt.token}})
			if !tt.ok {
				if err == nil {
					b.Close()
					t.Fatal("connected with a wrong token")
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer b.Close()
			roundTrip(t, octx, b)
		})
	}

	rb.stop(t)
}

// TestBusCommandNKeyAndJWT runs the bus with nkey users, then with an
// operator, and logs in with a seed file and a .creds file.
func TestBusCommandNKeyAndJWT(t *testing.T) {
	dir := t.TempDir()
	seedFile, pub, _ := testpki.NATSNKeyUser(t, dir, "collector")
	strangerFile, _, _ := testpki.NATSNKeyUser(t, dir, "stranger")
	op := testpki.NewNATSOperator(t, dir, "op")
	creds, _, _ := op.User(t, "collector", time.Time{})
	revoked, revokedPub, _ := op.User(t, "revoked", time.Time{})
	op.Revoke(t, revokedPub)

	tests := []struct {
		name     string
		args     []string
		logged   string // the auth the bus reports
		ok, fail bus.Auth
	}{
		{
			name:   "nkey",
			args:   []string{"--nkey-user", pub},
			logged: "auth=nkey",
			ok:     bus.Auth{NKeySeedFile: seedFile},
			fail:   bus.Auth{NKeySeedFile: strangerFile},
		},
		{
			name:   "operator",
			args:   []string{"--operator", op.JWTFile, "--account", op.SystemAccountFile, "--account", op.AccountFile},
			logged: "auth=jwt",
			ok:     bus.Auth{CredsFile: creds},
			fail:   bus.Auth{CredsFile: revoked},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb := startBus(t, tt.args...)
			if !strings.Contains(rb.stderr.String(), tt.logged) {
				t.Errorf("bus did not log %s: %s", tt.logged, rb.stderr.String())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			open := func(a bus.Auth) (bus.Bus, error) {
				return natsbus.Open(ctx, bus.Config{Servers: []string{rb.addr}, Topic: "cli-auth", Partitions: 2, Auth: a})
			}
			if b, err := open(tt.fail); err == nil {
				b.Close()
				t.Fatalf("logged in with %+v", tt.fail)
			} else if !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
				t.Fatalf("open with %+v: %v, want an authorization violation", tt.fail, err)
			}
			b, err := open(tt.ok)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			roundTrip(t, ctx, b)
			b.Close()
			rb.stop(t)
		})
	}
}

func TestBusCommandAuthErrors(t *testing.T) {
	dir := t.TempDir()
	_, _, seed := testpki.NATSNKeyUser(t, dir, "collector")
	var stderr syncbuf.Buffer
	code := Main(context.Background(), []string{"bus", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--nkey-user", seed},
		strings.NewReader(""), &syncbuf.Buffer{}, &stderr)
	if code != ExitFailure || !strings.Contains(stderr.String(), "nkey user 1 is a seed") {
		t.Fatalf("exit %d: %s, want a failure about a seed", code, stderr.String())
	}
	if strings.Contains(stderr.String(), seed) {
		t.Errorf("the error shows the seed: %s", stderr.String())
	}
}

// roundTrip publishes a record on b and consumes it back.
func roundTrip(t *testing.T, ctx context.Context, b bus.Bus) {
	t.Helper()
	p, err := b.Publisher(ctx, bus.PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	if err := p.Publish(ctx, bus.Message{Key: []byte("s"), Value: []byte("hello")}, func(err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("publish: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := b.Consumer(ctx, bus.ConsumerConfig{Group: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ds, err := c.Fetch(ctx, 10)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if len(ds) != 1 || string(ds[0].Value) != "hello" {
		t.Fatalf("got %d records, first %q", len(ds), ds[0].Value)
	}
	if err := c.Ack(ctx, ds...); err != nil {
		t.Fatal(err)
	}
}
