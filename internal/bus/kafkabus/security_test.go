package kafkabus_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/busurl"
	"github.com/mcptrail/mcptrail/internal/bus/kafkabus"
	"github.com/mcptrail/mcptrail/internal/bus/kafkabus/kafkatest"
	"github.com/mcptrail/mcptrail/internal/testpki"
)

// Credentials of the SASL_SSL broker. The passwords are distinctive so that
// the tests can check that no error message leaks them.
const (
	scramUser  = "scram-user"
	scramPass  = "scram-pass-7f3a9c"
	plainUser  = "plain-user"
	plainPass  = "plain-pass-4be2d1"
	wrongPass  = "wrong-pass-91c0e5"
	secureWait = 45 * time.Second
)

// startSecureBroker starts a second broker with a SASL_SSL listener that
// has a PLAIN user and a SCRAM user (SHA-256 and SHA-512), and stops it at
// the end of the test.
func startSecureBroker(t *testing.T, tlsDir string, ca *testpki.CA) *kafkatest.Broker {
	t.Helper()
	certFile, keyFile := ca.Server(t, tlsDir, "127.0.0.1")
	t0 := time.Now()
	b := kafkatest.New(t, kafkatest.Options{SASL: &kafkatest.SASL{
		CertFile:   certFile,
		KeyFile:    keyFile,
		PlainUsers: []string{plainUser + ":" + plainPass},
		ScramUsers: []string{scramUser + ":" + scramPass},
	}})
	t.Logf("SASL_SSL broker ready on %s in %v", b.SASLAddr(), time.Since(t0).Round(time.Millisecond))
	return b
}

// TestSASLSSL runs kafkabus against a broker's SASL_SSL listener: every
// SASL mechanism over TLS, a wrong password and an unknown CA.
func TestSASLSSL(t *testing.T) {
	tlsDir := t.TempDir()
	ca := testpki.NewCA(t, tlsDir, "test-ca")
	otherCA := testpki.NewCA(t, tlsDir, "other-ca")
	sb := startSecureBroker(t, tlsDir, ca)

	secureConfig := func(t *testing.T, auth bus.Auth, caFile string) bus.Config {
		return bus.Config{
			Servers:    []string{sb.SASLAddr()},
			Topic:      fmt.Sprintf("s%d-%s", topicSeq.Add(1), strings.ReplaceAll(t.Name(), "/", "_")),
			Partitions: 2,
			TLS:        &bus.TLSConfig{CAFile: caFile},
			Auth:       auth,
		}
	}

	t.Run("ok", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			auth bus.Auth
		}{
			{"scram-sha-512", bus.Auth{SASL: "scram-sha-512", User: scramUser, Password: scramPass}},
			{"scram-sha-256", bus.Auth{SASL: "scram-sha-256", User: scramUser, Password: scramPass}},
			{"plain", bus.Auth{SASL: "plain", User: plainUser, Password: plainPass}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				roundTrip(t, secureConfig(t, tc.auth, ca.CertFile))
			})
		}
	})

	// The same through bus URLs, as the binaries open the bus.
	t.Run("url", func(t *testing.T) {
		for _, tc := range []struct {
			name, mechanism, user, pass string
		}{
			{"scram-sha-512", "scram-sha-512", scramUser, scramPass},
			{"scram-sha-256", "SCRAM-SHA-256", scramUser, scramPass},
			{"plain", "plain", plainUser, plainPass},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				topic := fmt.Sprintf("u%d-%s", topicSeq.Add(1), tc.name)
				raw := fmt.Sprintf("kafka://%s:%s@%s/%s?sasl=%s&tls_ca=%s&partitions=2",
					url.PathEscape(tc.user), url.PathEscape(tc.pass), sb.SASLAddr(), topic, tc.mechanism, url.QueryEscape(ca.CertFile))
				ctx, cancel := context.WithTimeout(context.Background(), secureWait)
				defer cancel()
				b, err := busurl.Open(ctx, raw, bus.Config{}, nil)
				if err != nil {
					t.Fatalf("busurl.Open: %v", err)
				}
				t.Cleanup(func() { _ = b.Close() })
				roundTripBus(t, b)
			})
		}
		t.Run("wrong-password", func(t *testing.T) {
			t.Parallel()
			raw := fmt.Sprintf("kafka://%s:%s@%s/u-wrong?sasl=scram-sha-512&tls_ca=%s", scramUser, wrongPass, sb.SASLAddr(), url.QueryEscape(ca.CertFile))
			ctx, cancel := context.WithTimeout(context.Background(), secureWait)
			defer cancel()
			b, err := busurl.Open(ctx, raw, bus.Config{}, nil)
			if err == nil {
				_ = b.Close()
				t.Fatal("busurl.Open succeeded with a wrong password")
			}
			if msg := err.Error(); !strings.Contains(msg, "SASL authentication") || strings.Contains(msg, wrongPass) {
				t.Errorf("busurl.Open: %q, want a SASL authentication error without the password", msg)
			}
		})
	})

	t.Run("fail", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			auth     bus.Auth
			caFile   string
			want     string // in the error message
			reason   string // in the error message too
			password string // must not be in the error message
		}{
			{
				name: "wrong-password-scram-sha-512", caFile: ca.CertFile,
				auth: bus.Auth{SASL: "scram-sha-512", User: scramUser, Password: wrongPass},
				want: "SASL authentication", reason: "SCRAM-SHA-512", password: wrongPass,
			},
			{
				name: "wrong-password-plain", caFile: ca.CertFile,
				auth: bus.Auth{SASL: "plain", User: plainUser, Password: wrongPass},
				want: "SASL authentication", reason: "Invalid username or password", password: wrongPass,
			},
			{
				name: "unknown-user", caFile: ca.CertFile,
				auth: bus.Auth{SASL: "scram-sha-256", User: "nobody", Password: scramPass},
				want: "SASL authentication", reason: "SCRAM-SHA-256", password: scramPass,
			},
			{
				name: "unknown-ca", caFile: otherCA.CertFile,
				auth: bus.Auth{SASL: "scram-sha-512", User: scramUser, Password: scramPass},
				want: "TLS handshake with brokers", reason: "certificate signed by unknown authority",
				password: scramPass,
			},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), secureWait)
				defer cancel()
				t0 := time.Now()
				b, err := kafkabus.Open(ctx, secureConfig(t, tc.auth, tc.caFile))
				if err == nil {
					_ = b.Close()
					t.Fatal("Open succeeded")
				}
				took, msg := time.Since(t0), err.Error()
				t.Logf("Open failed after %v: %v", took.Round(time.Millisecond), msg)
				if took > 10*time.Second {
					t.Errorf("Open took %v to fail; a rejected handshake should fail at once", took)
				}
				if !strings.Contains(msg, tc.want) || !strings.Contains(msg, tc.reason) {
					t.Errorf("error %q does not contain %q and %q", msg, tc.want, tc.reason)
				}
				if strings.Contains(msg, tc.password) {
					t.Errorf("error %q contains the password", msg)
				}
				if errors.Is(err, bus.ErrUnavailable) {
					t.Errorf("error %q wraps bus.ErrUnavailable; a credential or certificate problem is not an outage", msg)
				}
			})
		}
	})
}

// roundTrip publishes records over cfg and consumes them in a group.
func roundTrip(t *testing.T, cfg bus.Config) {
	t.Helper()
	roundTripBus(t, open(t, cfg))
}

// roundTripBus publishes records on b and consumes them in a group.
func roundTripBus(t *testing.T, b bus.Bus) {
	t.Helper()
	const n = 20
	msgs := messages(n, 3)
	publishAll(t, publisher(t, b, bus.PublisherConfig{}), msgs)
	c := consumer(t, b, bus.ConsumerConfig{Group: "g"})
	ds := fetchN(t, c, n, secureWait)
	got := map[string]bool{}
	for _, d := range ds {
		got[string(d.Value)] = true
	}
	for _, m := range msgs {
		if !got[string(m.Value)] {
			t.Fatalf("record %q not consumed", m.Value)
		}
	}
	ackAll(t, c, ds)
}
