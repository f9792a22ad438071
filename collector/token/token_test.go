package token

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/schemas"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// makeJWT builds an unsigned-looking JWS from a header and claims.
func makeJWT(t testing.TB, header, claims any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

func TestInspect(t *testing.T) {
	jwt := makeJWT(t, map[string]any{"alg": "RS256", "typ": "JWT"}, map[string]any{
		"iss": "https://as.example", "aud": []string{"https://mcp.example/mcp", "x"}, "sub": "alice",
		"client_id": "cli", "azp": "azp1", "scp": []string{"read", "write"}, "exp": 1900000000.5, "iat": 1800000000, "jti": "j1",
	})
	jwt2 := makeJWT(t, map[string]any{"alg": "none"}, map[string]any{"aud": "one", "scope": "a b", "exp": "soon", "sub": 7})
	notJSONPayload := makeJWT(t, map[string]any{"alg": "HS256"}, "just a string")
	noAlg := makeJWT(t, map[string]any{"typ": "JWT"}, map[string]any{"sub": "x"})
	tests := []struct {
		name   string
		header string
		ok     bool
		want   schemas.Token // FP filled in by the test
	}{
		{"opaque", "Bearer abc.def", true, schemas.Token{Kind: schemas.TokenOpaque}},
		{"scheme case", "bEaReR   tok123  ", true, schemas.Token{Kind: schemas.TokenOpaque}},
		{"jwt full", "Bearer " + jwt, true, schemas.Token{Kind: schemas.TokenJWT, Iss: "https://as.example",
			Aud: schemas.Audience{"https://mcp.example/mcp", "x"}, Sub: "alice", ClientID: "cli", Azp: "azp1",
			Scope: "read write", Exp: 1900000000, Iat: 1800000000, Jti: "j1"}},
		{"jwt odd claim types", "Bearer " + jwt2, true, schemas.Token{Kind: schemas.TokenJWT, Aud: schemas.Audience{"one"}, Scope: "a b"}},
		{"jwt payload not object", "Bearer " + notJSONPayload, true, schemas.Token{Kind: schemas.TokenJWT}},
		{"no alg is opaque", "Bearer " + noAlg, true, schemas.Token{Kind: schemas.TokenOpaque}},
		{"basic", "Basic dXNlcjpwYXNz", false, schemas.Token{}},
		{"empty token", "Bearer   ", false, schemas.Token{}},
		{"no space", "Bearerabc", false, schemas.Token{}},
		{"empty", "", false, schemas.Token{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Inspect(testKey, tt.header)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				if got != nil {
					t.Fatalf("got %+v with ok false", got)
				}
				return
			}
			tok, _ := Bearer(tt.header)
			want := tt.want
			want.FP = Fingerprint(testKey, []byte(tok))
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("got  %+v\nwant %+v", *got, want)
			}
			checkNoLeak(t, tok, got)
		})
	}
}

// checkNoLeak fails when tok appears in any field of got.
func checkNoLeak(t testing.TB, tok string, got *schemas.Token) {
	t.Helper()
	if len(got.FP) != 64 {
		t.Fatalf("fp %q is not 64 hex digits", got.FP)
	}
	if _, err := hex.DecodeString(got.FP); err != nil {
		t.Fatalf("fp %q is not hex", got.FP)
	}
	if len(tok) < 8 { // shorter strings occur in hex digests by chance
		return
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	fields := append([]string{string(b), got.FP, string(got.Kind), got.Iss, got.Sub, got.ClientID, got.Azp, got.Scope, got.Jti}, got.Aud...)
	for _, f := range fields {
		if strings.Contains(f, tok) {
			t.Fatalf("raw token found in result field %q", f)
		}
	}
}

func TestFingerprintStable(t *testing.T) {
	a := Fingerprint(testKey, []byte("tok"))
	if a != Fingerprint(testKey, []byte("tok")) {
		t.Fatal("fingerprint not stable")
	}
	if a == Fingerprint([]byte("another key of at least 32 bytes!"), []byte("tok")) {
		t.Fatal("fingerprint does not depend on the key")
	}
	// HMAC-SHA256 known answer (RFC 4231 test case 2).
	if got := Fingerprint([]byte("Jefe"), []byte("what do ya want for nothing?")); got != "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Fatalf("HMAC = %s", got)
	}
}

func TestLoadOrCreateSiteKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "site.key")
	k1, err := LoadOrCreateSiteKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 {
		t.Fatalf("key is %d bytes", len(k1))
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode())
	}
	if dst, _ := os.Stat(filepath.Dir(path)); dst.Mode().Perm() != 0o700 {
		t.Fatalf("key dir mode %v", dst.Mode())
	}
	k2, err := LoadOrCreateSiteKey(path)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("reload: %v, same=%v", err, string(k1) == string(k2))
	}

	tests := []struct {
		name    string
		content []byte
		mode    os.FileMode
		wantLen int
		wantErr string
	}{
		{"raw 40 bytes", []byte(strings.Repeat("\x01\xff", 20)), 0o600, 40, ""},
		{"hex with newline", []byte(strings.Repeat("ab", 32) + "\n"), 0o400, 32, ""},
		{"short raw", []byte("short"), 0o600, 0, "need at least 32"},
		{"short hex", []byte("abcd"), 0o600, 0, "need at least 32"},
		{"group readable", []byte(strings.Repeat("ab", 32)), 0o640, 0, "accessible by group or others"},
		{"world readable", []byte(strings.Repeat("ab", 32)), 0o604, 0, "chmod 600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "k")
			if err := os.WriteFile(p, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tt.mode); err != nil {
				t.Fatal(err)
			}
			k, err := LoadOrCreateSiteKey(p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(k) != tt.wantLen {
				t.Fatalf("len %d, err %v", len(k), err)
			}
		})
	}
}

func TestLoadSiteKeyEnvBeatsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "site.key")
	envKey := strings.Repeat("cd", 32)
	t.Setenv(EnvSiteKey, envKey)
	k, src, err := LoadSiteKey(path)
	if err != nil || hex.EncodeToString(k) != envKey || !strings.HasPrefix(src, "env") {
		t.Fatalf("key from %q, err %v", src, err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("key file created although the env var is set")
	}
	t.Setenv(EnvSiteKey, "zz"+envKey)
	if _, _, err := LoadSiteKey(path); err == nil || strings.Contains(err.Error(), envKey) {
		t.Fatalf("bad env key: err %v (must not quote the key)", err)
	}
	t.Setenv(EnvSiteKey, "")
	k, src, err = LoadSiteKey(path)
	if err != nil || len(k) != 32 || !strings.HasPrefix(src, "file") {
		t.Fatalf("key from %q, err %v", src, err)
	}
}

func FuzzInspect(f *testing.F) {
	f.Add("Bearer " + makeJWT(f, map[string]any{"alg": "RS256"}, map[string]any{"sub": "s", "aud": []string{"a"}, "scp": []string{"x"}}))
	f.Add("Bearer " + makeJWT(f, map[string]any{"alg": "none"}, map[string]any{"exp": 1e300, "iat": -5}))
	f.Add("Bearer abcdefgh12345678")
	f.Add("bearer\teyJhbGciOiJIUzI1NiJ9.e30.")
	f.Add("Basic Zm9vOmJhcg==")
	f.Add("Bearer a.b.c.d")
	f.Fuzz(func(t *testing.T, header string) {
		got, ok := Inspect(testKey, header)
		if !ok {
			if got != nil {
				t.Fatal("result with ok false")
			}
			return
		}
		tok, bok := Bearer(header)
		if !bok {
			t.Fatal("Inspect found a bearer token Bearer did not")
		}
		if got.FP != Fingerprint(testKey, []byte(tok)) {
			t.Fatal("fp is not the token's fingerprint")
		}
		if got.Kind != schemas.TokenJWT && got.Kind != schemas.TokenOpaque {
			t.Fatalf("kind %q", got.Kind)
		}
		checkNoLeak(t, tok, got)
	})
}
