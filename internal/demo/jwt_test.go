package demo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/mcptrail/mcptrail/collector/token"
	"github.com/mcptrail/mcptrail/schemas"
)

// TestAccessToken: the demo's tokens are JWTs signed with the demo's key,
// and the collector reads their claims (what the token detections judge).
func TestAccessToken(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	claims := newAccessToken("http://127.0.0.1:3001/mcp", now)
	jwt, err := claims.sign(key)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", jwt)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if got, want := parts[2], base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("signature %s, want HMAC-SHA256 %s", got, want)
	}

	siteKey := []byte("site-key-site-key-site-key-site!!")
	tok, ok := token.Inspect(siteKey, "Bearer "+jwt)
	if !ok || tok.Kind != schemas.TokenJWT {
		t.Fatalf("the collector does not read the token as a JWT: %+v", tok)
	}
	if len(tok.Aud) != 1 || tok.Aud[0] != "http://127.0.0.1:3001/mcp" || tok.Sub != tokenSubject || tok.ClientID != tokenClientID ||
		tok.Exp != now.Add(tokenLifetime).Unix() || tok.Jti == "" {
		t.Errorf("claims as the collector reads them: %+v", tok)
	}
	other, err := newAccessToken("http://127.0.0.1:3001/mcp", now).sign(key)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := token.Inspect(siteKey, "Bearer "+other); again.FP == tok.FP {
		t.Error("two tokens (different jti) got one fingerprint")
	}
}
