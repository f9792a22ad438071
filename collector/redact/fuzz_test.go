package redact

import (
	"bytes"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// FuzzRedact checks that on any input Redact either reports an error for
// invalid JSON or returns valid JSON of the same shape in which exactly
// the listed paths changed, and that redacting the result again changes
// nothing.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"password":"hunter2"}}}`,
		`{"result":{"content":[{"type":"text","text":"use ` + fakeGHP + ` and postgres://u:p4ss@db/x"}]}}`,
		`["Bearer ` + fakeJWT + `",{"a.b":{"token":"t"}},"` + fakeAWSID + `",{"cookie":["x","y"]}]`,
		`{"t":"aws_secret_access_key=` + fakeAWSSecret + `","k":"AccountKey=` + fakeAzure + `;"}`,
		`{"t":"` + escapeAll(fakeOpenAI)[1:len(escapeAll(fakeOpenAI))-1] + ` ` + fakeAnthropic + ` ` + fakeSlackBot + `"}`,
		`{"t":"-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----","u":"[REDACTED:jwt:0123456789ab]"}`,
		`{"query":"password=1","token_count":3,"progressToken":"p"}`,
		`"https://hooks.slack.com/services/T0/B0/XXXXXXXXXXXX"`,
		`[1,true,null,-0.5e3,{},[]]`,
		`{"a":1,"a":"` + fakeGitLab + `"}`,
		`{`, `"\ud800"`, ``,
	} {
		f.Add([]byte(s))
	}
	r := newTestRedactor(f, Config{
		ExtraKeys:     []string{"x-internal-auth"},
		ExtraPatterns: []Pattern{{Kind: "employee_id", Regexp: `EMP-[0-9]{3,}`}},
		RawPaths:      []string{"msg.params.arguments.query", "msg.*.raw"},
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		valid := jsontext.Value(in).IsValid(jsontext.AllowDuplicateNames(true))
		out, paths, err := r.Redact("msg", in)
		if err != nil {
			if valid {
				t.Fatalf("valid input %q: %v", in, err)
			}
			return
		}
		if !valid {
			t.Fatalf("invalid input %q accepted: %q", in, out)
		}
		checkOutput(t, "msg", in, out, paths)
		again, paths2, err := r.Redact("msg", out)
		if err != nil || paths2 != nil || !bytes.Equal(again, out) {
			t.Fatalf("second pass changed the output: %v %q\nonce:  %s\ntwice: %s", err, paths2, out, again)
		}
	})
}
