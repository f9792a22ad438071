package redact

import (
	"testing"
)

// benchMessage is a typical tools/call exchange of about 1 KiB: a request
// with arguments and a result with text content.
func benchMessage(secrets bool) []byte {
	text := "Found 3 matching issues in acme/infra. #412 Terraform plan fails on the vpc module " +
		"after the provider upgrade; #398 Add a staging workspace for the payments service; " +
		"#377 Document how to rotate the database credentials every 90 days. " +
		"The latest commit on main is 9fceb02d0ae598e95dc970b74767f19372d61af8 by ana."
	token, tokenKey := "ordinary-session-value", "session_id"
	if secrets {
		text += " Deploy with ghp_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5 and " +
			"postgres://deploy:Tr0ub4dor-3@db.internal:5432/payments, " +
			"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJlLXZhbHVl"
		token, tokenKey = "s3cr3t-sess1on-t0ken", "session_token"
	}
	msg := `{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"search_issues",` +
		`"arguments":{"owner":"acme","repo":"infra","query":"is:open label:bug terraform","per_page":30,` +
		`"` + tokenKey + `":"` + token + `","sort":"updated"},"_meta":{"progressToken":"p-42"}},` +
		`"result":{"content":[{"type":"text","text":"` + text + `"},` +
		`{"type":"resource","resource":{"uri":"repo://acme/infra/issues/412","mimeType":"text/markdown",` +
		`"text":"## Plan output\nError: Unsupported argument on modules/vpc/main.tf line 14, in resource \"aws_vpc\" \"main\":\n  14:   enable_classiclink = false"}}],` +
		`"isError":false,"structuredContent":{"total":3,"ids":[412,398,377],"labels":["bug","infra","docs"]}}}`
	return []byte(msg)
}

func BenchmarkRedact(b *testing.B) {
	r, err := New(Config{SiteKey: []byte("bench-site-key-0123456789")})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		secrets bool
	}{{"clean", false}, {"secrets", true}} {
		msg := benchMessage(bc.secrets)
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				out, _, err := r.Redact("msg", msg)
				if err != nil {
					b.Fatal(err)
				}
				if bc.secrets == (&out[0] == &msg[0]) {
					b.Fatal("unexpected redaction result")
				}
			}
		})
	}
}
