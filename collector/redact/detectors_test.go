package redact

import (
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// Fake credentials in the shapes the detectors look for.
const (
	fakeAWSID      = "AKIAQ3EXAMPLE7RZ4X2M"
	fakeAWSSecret  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	fakeGCP        = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
	fakeAzure      = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYg=="
	fakeGHP        = "ghp_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5"
	fakeGHPAT      = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF"
	fakeGitLab     = "glpat-xY7zQ2wE9rT4uI1oP6aS"
	fakeSlackBot   = "xoxb-2048-4096-aBcDeFgHiJkLmNoP"
	fakeSlackApp   = "xapp-1-A0123456789-0123456789-abcdef0123"
	fakeSlackHook  = "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
	fakeStripe     = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
	fakeStripeRK   = "rk_live_51H8xYzAbCdEfGhIjKlMnOp"
	fakeOpenAI     = "sk-proj-Ab3De5Gh7Jk9Mn1Pq3St5Vx7Za9Ce1Gi3Km5"
	fakeAnthropic  = "sk-ant-api03-Ab3De5Gh7Jk9Mn1Pq3St5Vx7Za9Ce1Gi3Km5-AA"
	fakeJWT        = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbmFAZXhhbXBsZS5jb20ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	fakeURLPass    = "Tr0ub4dor&3"
	fakeBearer     = "ya29.a0AfH6SMBx7k2Lq9ZrT4"
	fakePrivateKey = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq3Xk\nq9ZrT4vLm==\n-----END RSA PRIVATE KEY-----"
)

// redactText redacts s as the "text" member of a small message and
// returns the resulting text.
func redactOne(t *testing.T, r *Redactor, s string) (string, []string) {
	t.Helper()
	v, err := jsontext.AppendQuote(nil, s)
	if err != nil {
		t.Fatal(err)
	}
	in := []byte(`{"type":"text","text":` + string(v) + `}`)
	out, paths, err := r.Redact("msg", in)
	if err != nil {
		t.Fatalf("Redact(%s): %v", in, err)
	}
	tree, err := decodeTree(out)
	if err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	return tree.members[1].str, paths
}

func TestDetectors(t *testing.T) {
	r := newTestRedactor(t, Config{})
	// positive: secret is found in text with the kind; the secret must
	// vanish and the context stay.
	positive := func(name, kind, secret, text string) {
		t.Helper()
		t.Run("found/"+name, func(t *testing.T) {
			t.Helper()
			got, paths := redactOne(t, r, text)
			if strings.Contains(got, secret) {
				t.Errorf("secret survived: %q", got)
			}
			m := anyMarker.FindStringSubmatch(got)
			if m == nil || m[1] != kind {
				t.Errorf("got %q, want a %s marker", got, kind)
			}
			if len(paths) != 1 || paths[0] != "msg.text" {
				t.Errorf("paths %q, want [msg.text]", paths)
			}
			// The context around the secret is kept.
			before, after, _ := strings.Cut(text, secret)
			if !strings.HasPrefix(got, before) || !strings.HasSuffix(got, after) {
				t.Errorf("context lost: %q from %q", got, text)
			}
		})
	}
	negative := func(name, text string) {
		t.Helper()
		t.Run("clean/"+name, func(t *testing.T) {
			t.Helper()
			got, paths := redactOne(t, r, text)
			if got != text || paths != nil {
				t.Errorf("changed %q into %q (%q)", text, got, paths)
			}
		})
	}

	positive("aws id", KindAWSAccessKey, fakeAWSID, "key id "+fakeAWSID+" in us-east-1")
	positive("aws sts id", KindAWSAccessKey, "ASIAY34FZKBOKMUTVV7A", "temporary ASIAY34FZKBOKMUTVV7A.")
	negative("aws id too short", "AKIA12345 is not a key")
	negative("aws id inside a word", "XAKIAQ3EXAMPLE7RZ4X2M")
	positive("aws secret ini", KindAWSSecretKey, fakeAWSSecret, "[default]\naws_secret_access_key = "+fakeAWSSecret+"\n")
	positive("aws secret env", KindAWSSecretKey, fakeAWSSecret, "export AWS_SECRET_ACCESS_KEY="+fakeAWSSecret)
	positive("aws secret json", KindAWSSecretKey, fakeAWSSecret, `{"aws_secret_access_key": "`+fakeAWSSecret+`"}`)
	negative("40 chars without aws name", "value "+fakeAWSSecret)
	negative("git sha", "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixes it")
	negative("git sha after aws secret", "aws secret rotated in 9fceb02d0ae598e95dc970b74767f19372d61af8")
	positive("gcp", KindGCPAPIKey, fakeGCP, "key="+fakeGCP+"&q=1")
	negative("gcp short", "AIzaSyD-short")
	positive("azure", KindAzureStorageKey, fakeAzure, "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey="+fakeAzure+";EndpointSuffix=core.windows.net")
	negative("azure account name", "AccountName=acme;EndpointSuffix=core.windows.net")
	positive("github ghp", KindGitHubToken, fakeGHP, "token "+fakeGHP)
	positive("github gho", KindGitHubToken, "gho_"+fakeGHP[4:], "gho_"+fakeGHP[4:])
	positive("github ghs", KindGitHubToken, "ghs_"+fakeGHP[4:], "x ghs_"+fakeGHP[4:]+" y")
	positive("github pat", KindGitHubToken, fakeGHPAT, "GH_TOKEN="+fakeGHPAT)
	negative("github short", "ghp_short and github_pat_short")
	negative("github in word", "xghp_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5")
	positive("gitlab", KindGitLabToken, fakeGitLab, "PRIVATE-TOKEN: "+fakeGitLab)
	negative("gitlab short", "glpat-abc")
	positive("slack bot", KindSlackToken, fakeSlackBot, "SLACK_BOT_TOKEN="+fakeSlackBot)
	positive("slack user", KindSlackToken, "xoxp-"+fakeSlackBot[5:], "xoxp-"+fakeSlackBot[5:])
	positive("slack app", KindSlackToken, fakeSlackApp, "app "+fakeSlackApp)
	negative("slack short", "xoxb-1")
	positive("slack webhook", KindSlackWebhook, fakeSlackHook, "POST https://hooks.slack.com/services/"+fakeSlackHook+" now")
	negative("slack page", "see https://slack.com/help")
	positive("stripe", KindStripeKey, fakeStripe, "stripe "+fakeStripe)
	positive("stripe restricted", KindStripeKey, fakeStripeRK, fakeStripeRK)
	negative("stripe publishable", "pk_live_4eC39HqLyjWDarjtT1zdp7dc")
	negative("stripe test", "sk_test_4eC39HqLyjWDarjtT1zdp7dc")
	positive("openai", KindOpenAIAPIKey, fakeOpenAI, "OPENAI_API_KEY="+fakeOpenAI)
	positive("anthropic", KindAnthropicAPIKey, fakeAnthropic, "x-api-key: "+fakeAnthropic)
	negative("sk slug", "the task-list-for-the-sk-learn-migration-plan is done")
	negative("sk lower slug", "sk-some-long-hyphenated-slug-name-here")
	positive("private key", KindPrivateKey, fakePrivateKey, "key:\n"+fakePrivateKey+"\nend")
	positive("openssh key truncated", KindPrivateKey, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA")
	negative("public key", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqh\n-----END PUBLIC KEY-----")
	negative("certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
	positive("jwt", KindJWT, fakeJWT, "id_token="+fakeJWT)
	negative("eyJ word", "eyJust a word. eyJhbGciOiJ")
	positive("url password", KindURLPassword, fakeURLPass, "postgres://app:"+fakeURLPass+"@db.internal:5432/main")
	positive("url password redis", KindURLPassword, "hunter2hunter2", "redis://:hunter2hunter2@cache:6379")
	negative("url user only", "https://ana@example.com/x")
	negative("url port", "http://localhost:8080/path@v2")
	negative("url plain", "see https://example.com:443/a?b=c")
	positive("bearer", KindBearerToken, fakeBearer, "Authorization: Bearer "+fakeBearer)
	positive("bearer lower", KindBearerToken, "0123456789abcdef", "bearer 0123456789abcdef")
	positive("bearer jwt", KindJWT, fakeJWT, "Bearer "+fakeJWT)
	negative("bearer prose", "Send a Bearer token in the Authorization header.")
	negative("bearer metadata", `Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"`)
	negative("token prose", "the token was refreshed, password rules apply, secret santa")
	negative("marker", "[REDACTED:github_token:0123456789ab]")
}

func TestDetectorKindsDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range builtinDetectors {
		if !kindRe.MatchString(d.kind) {
			t.Errorf("kind %q is not a valid kind", d.kind)
		}
		if seen[d.kind] {
			t.Errorf("kind %q used twice", d.kind)
		}
		seen[d.kind] = true
		if len(d.lits) == 0 {
			t.Errorf("%s: built-in detector without literals", d.kind)
		}
	}
}
