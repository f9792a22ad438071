// Package busurl turns a bus URL into a bus configuration and opens it:
//
//	embedded                             in-process NATS JetStream, file store in the data dir
//	embedded:///var/lib/mcptrail/bus     … with that data dir
//	nats://host:4222[,host2:4222][/topic]
//	kafka://broker1:9092,broker2:9092/topic
//
// Credentials go in the user info (nats://TOKEN@host, nats://user:pass@host,
// kafka://user:pass@host/topic?sasl=scram-sha-512) or in files named by
// query parameters; see Parse for the full list.
package busurl

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// Kind is the bus implementation a URL selects.
type Kind string

// Kinds of bus.
const (
	Embedded Kind = "embedded"
	NATS     Kind = "nats"
	Kafka    Kind = "kafka"
)

// Spec is a parsed bus URL.
type Spec struct {
	Kind   Kind
	Config bus.Config
	// Listen is where an embedded server accepts clients (host:port).
	Listen string
}

// DefaultEmbeddedListen is where an embedded bus listens unless the URL
// says otherwise (embedded:///dir?listen=127.0.0.1:0).
const DefaultEmbeddedListen = "127.0.0.1:4222"

// Query parameters Parse understands, by the kinds that accept them.
var (
	commonParams = []string{"topic", "partitions", "max_record_bytes", "tls", "tls_ca", "tls_cert", "tls_key", "tls_server_name", "tls_insecure"}
	natsParams   = []string{"creds", "nkey"}
	kafkaParams  = []string{"sasl"}
)

// Parse parses a bus URL. Query parameters: topic, partitions,
// max_record_bytes; tls=true, tls_ca, tls_cert, tls_key, tls_server_name,
// tls_insecure=true; for NATS creds (a .creds file) and nkey (a seed file);
// for Kafka sasl (plain, scram-sha-256, scram-sha-512). An unknown
// parameter is an error, so a typo is not silently ignored.
func Parse(raw string) (Spec, error) {
	if raw == "embedded" || raw == "embedded:" {
		return Spec{Kind: Embedded, Listen: DefaultEmbeddedListen}, nil
	}
	raw, hosts := splitHosts(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return Spec{}, fmt.Errorf("bus URL: %w", err)
	}
	u.Host = hosts
	var spec Spec
	var defaultPort string
	allowed := slices.Clone(commonParams)
	switch u.Scheme {
	case "embedded":
		spec.Kind, spec.Listen = Embedded, DefaultEmbeddedListen
		spec.Config.DataDir = u.Path
		allowed = append(allowed, "listen")
		if u.Host != "" {
			return Spec{}, fmt.Errorf("bus URL %q: an embedded bus takes a data dir path (embedded:///path), not a host", redact(u))
		}
	case "nats", "tls":
		spec.Kind, defaultPort = NATS, "4222"
		allowed = append(allowed, natsParams...)
	case "kafka":
		spec.Kind, defaultPort = Kafka, "9092"
		allowed = append(allowed, kafkaParams...)
	default:
		return Spec{}, fmt.Errorf("bus URL %q: unknown scheme %q (want embedded, nats:// or kafka://)", redact(u), u.Scheme)
	}
	q := u.Query()
	for name := range q {
		if !slices.Contains(allowed, name) {
			return Spec{}, fmt.Errorf("bus URL %q: unknown parameter %q for a %s bus (known: %s)", redact(u), name, spec.Kind, strings.Join(allowed, ", "))
		}
	}
	cfg := &spec.Config
	if spec.Kind != Embedded {
		if cfg.Servers, err = servers(u.Host, defaultPort); err != nil {
			return Spec{}, fmt.Errorf("bus URL %q: %w", redact(u), err)
		}
		cfg.Topic = strings.Trim(u.Path, "/")
	}
	if l := q.Get("listen"); l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			return Spec{}, fmt.Errorf("bus URL %q: listen must be host:port, not %q", redact(u), l)
		}
		spec.Listen = l
	}
	if t := q.Get("topic"); t != "" {
		cfg.Topic = t
	}
	if strings.ContainsAny(cfg.Topic, "/ *>") {
		return Spec{}, fmt.Errorf("bus URL %q: topic %q may not contain '/', spaces, '*' or '>'", redact(u), cfg.Topic)
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"partitions", &cfg.Partitions}, {"max_record_bytes", &cfg.MaxRecordBytes}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return Spec{}, fmt.Errorf("bus URL %q: %s must be a positive integer, not %q", redact(u), p.name, v)
			}
			*p.dst = n
		}
	}
	if cfg.TLS, err = tlsConfig(q, u.Scheme == "tls"); err != nil {
		return Spec{}, fmt.Errorf("bus URL %q: %w", redact(u), err)
	}
	if err := auth(spec.Kind, u, q, &cfg.Auth); err != nil {
		return Spec{}, fmt.Errorf("bus URL %q: %w", redact(u), err)
	}
	return spec, nil
}

// splitHosts takes the host list out of a URL, because net/url refuses a
// comma-separated list such as "b1:9092,b2". It returns the URL with a
// placeholder host and the list.
func splitHosts(raw string) (string, string) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw, ""
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo, hosts := "", authority
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		userinfo, hosts = authority[:at+1], authority[at+1:]
	}
	placeholder := ""
	if hosts != "" {
		placeholder = "hosts"
	}
	return scheme + "://" + userinfo + placeholder + tail, hosts
}

func servers(hosts, defaultPort string) ([]string, error) {
	if hosts == "" {
		return nil, fmt.Errorf("no server address")
	}
	var out []string
	for _, h := range strings.Split(hosts, ",") {
		if h == "" {
			return nil, fmt.Errorf("empty server address in %q", hosts)
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(h, defaultPort)
		}
		out = append(out, h)
	}
	return out, nil
}

func tlsConfig(q url.Values, forced bool) (*bus.TLSConfig, error) {
	on, err := boolParam(q, "tls")
	if err != nil {
		return nil, err
	}
	insecure, err := boolParam(q, "tls_insecure")
	if err != nil {
		return nil, err
	}
	t := &bus.TLSConfig{CAFile: q.Get("tls_ca"), CertFile: q.Get("tls_cert"), KeyFile: q.Get("tls_key"),
		ServerName: q.Get("tls_server_name"), InsecureSkipVerify: insecure}
	if !on && !forced && *t == (bus.TLSConfig{}) {
		return nil, nil
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("tls_cert and tls_key must be given together")
	}
	return t, nil
}

func boolParam(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s must be true or false, not %q", name, v)
	}
	return b, nil
}

func auth(kind Kind, u *url.URL, q url.Values, a *bus.Auth) error {
	if u.User != nil {
		pass, hasPass := u.User.Password()
		switch {
		case kind == NATS && !hasPass:
			a.Token = u.User.Username()
		case hasPass:
			a.User, a.Password = u.User.Username(), pass
		default:
			return fmt.Errorf("kafka credentials need user:password")
		}
	}
	a.CredsFile, a.NKeySeedFile = q.Get("creds"), q.Get("nkey")
	if kind == NATS {
		n := 0
		for _, set := range []bool{a.Token != "", a.User != "", a.CredsFile != "", a.NKeySeedFile != ""} {
			if set {
				n++
			}
		}
		if n > 1 {
			return fmt.Errorf("NATS takes one of a token, user:password, creds=FILE and nkey=FILE")
		}
	}
	if kind == Kafka {
		a.SASL = strings.ToLower(q.Get("sasl"))
		switch a.SASL {
		case "", "plain", "scram-sha-256", "scram-sha-512":
		default:
			return fmt.Errorf("sasl must be plain, scram-sha-256 or scram-sha-512, not %q", a.SASL)
		}
		if (a.SASL == "") != (a.User == "") {
			return fmt.Errorf("kafka SASL needs both sasl=MECHANISM and user:password in the URL")
		}
	}
	return nil
}

// redact hides a password or token in a URL for error messages.
func redact(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = url.User("REDACTED")
	return c.String()
}
