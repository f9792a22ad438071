package busurl

import (
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; an accepted URL has a kind, servers unless
// embedded, and an error never shows a password or token from the URL. The
// kept corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"embedded", "nats://tok@h1,h2:4333/t?partitions=4", "kafka://u:p@b1:9092,b2/t?sasl=plain&tls_ca=x", "embedded:///d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		spec, err := Parse(raw)
		if err != nil {
			if strings.Contains(raw, "s3cr3t") && strings.Contains(err.Error(), "s3cr3t@") {
				t.Fatalf("error leaks credentials: %v", err)
			}
			return
		}
		if spec.Kind == "" || (spec.Kind != Embedded && len(spec.Config.Servers) == 0) {
			t.Fatalf("accepted %q as %+v", raw, spec)
		}
	})
}
