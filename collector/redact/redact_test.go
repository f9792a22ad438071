package redact

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestKeyNames(t *testing.T) {
	r := newTestRedactor(t, Config{ExtraKeys: []string{"X-Internal-Auth"}})
	check := func(name, in string, wantPaths []string, wantKinds ...string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			t.Helper()
			out, paths, err := r.Redact("msg", []byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(paths, wantPaths) {
				t.Errorf("paths %q, want %q (out %s)", paths, wantPaths, out)
			}
			var kinds []string
			for _, m := range anyMarker.FindAllSubmatch(out, -1) {
				kinds = append(kinds, string(m[1]))
			}
			if !slices.Equal(kinds, wantKinds) {
				t.Errorf("kinds %q, want %q (out %s)", kinds, wantKinds, out)
			}
			if len(wantPaths) == 0 && !bytes.Equal(out, []byte(in)) {
				t.Errorf("clean message changed: %s", out)
			}
		})
	}
	args := func(members string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"login","arguments":{` + members + `}}}`
	}
	check("password", args(`"user":"ana","password":"hunter2"`), []string{"msg.params.arguments.password"}, "password")
	check("case and separators", args(`"PassWord":"a","Client-Secret":"b","API_KEY":"c","apiKey":"d","x-api-key":"e"`),
		[]string{"msg.params.arguments.PassWord", "msg.params.arguments.Client-Secret", "msg.params.arguments.API_KEY", "msg.params.arguments.apiKey", "msg.params.arguments.x-api-key"},
		"password", "client_secret", "api_key", "api_key", "api_key")
	check("every built-in", args(`"passwd":"1","secret":"2","client_secret":"3","token":"4","access_token":"5","refresh_token":"6","api_key":"7","apikey":"8","private_key":"9","authorization":"10","cookie":"11","session_token":"12"`),
		[]string{"msg.params.arguments.passwd", "msg.params.arguments.secret", "msg.params.arguments.client_secret", "msg.params.arguments.token", "msg.params.arguments.access_token", "msg.params.arguments.refresh_token", "msg.params.arguments.api_key", "msg.params.arguments.apikey", "msg.params.arguments.private_key", "msg.params.arguments.authorization", "msg.params.arguments.cookie", "msg.params.arguments.session_token"},
		"password", "secret", "client_secret", "token", "access_token", "refresh_token", "api_key", "api_key", "private_key", "authorization", "cookie", "session_token")
	check("suffix", args(`"db_password":"x","aws_secret_access_key":"y"`),
		[]string{"msg.params.arguments.db_password", "msg.params.arguments.aws_secret_access_key"}, "password", KindAWSSecretKey)
	check("extra key", args(`"x_internal_auth":"zzz"`), []string{"msg.params.arguments.x_internal_auth"}, "xinternalauth")
	check("token_count number", args(`"token_count":1234,"max_tokens":100`), nil)
	check("token number", args(`"token":1234,"password":null,"secret":true`), nil)
	check("progressToken", `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"abc-123","progress":1}}`, nil)
	check("nextPageToken and token_type", args(`"nextPageToken":"abc","token_type":"Bearer","tokenizer":"cl100k"`), nil)
	check("pwd is not password", args(`"pwd":"/home/ana"`), nil)
	check("empty value", args(`"password":""`), nil)
	check("token in prose", args(`"text":"the token was refreshed and the password policy changed"`), nil)
	check("array under secret key", args(`"cookie":["a=1","b=2"],"ok":["c"]`),
		[]string{"msg.params.arguments.cookie.0", "msg.params.arguments.cookie.1"}, "cookie", "cookie")
	check("object under secret key", args(`"secret":{"name":"db","note":"plain"}`), nil)
	check("headers", `{"headers":{"Authorization":"Bearer abc","Cookie":"sid=1","Accept":"*/*"}}`,
		[]string{"msg.headers.Authorization", "msg.headers.Cookie"}, "authorization", "cookie")
}

func TestNestedPaths(t *testing.T) {
	r := newTestRedactor(t, Config{})
	in := `[{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"use ` + fakeGHP + `"},` +
		`{"type":"text","text":"nothing"},{"type":"json","data":[[1,{"a.b":{"token":"t0k"}}],"` + fakeGitLab + `"]}]}},` +
		`{"jsonrpc":"2.0","id":4,"result":{}}]`
	out, paths, err := r.Redact("msg", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"msg.0.result.content.0.text",
		`msg.0.result.content.2.data.0.1.a\.b.token`,
		"msg.0.result.content.2.data.1",
	}
	if !slices.Equal(paths, want) {
		t.Fatalf("paths %q, want %q", paths, want)
	}
	checkOutput(t, "msg", []byte(in), out, paths)
	if len(out) == len(in) {
		t.Error("output same length as input")
	}
	// Everything outside the replaced strings is byte-for-byte the same.
	if !strings.HasPrefix(string(out), `[{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"use [REDACTED:github_token:`) {
		t.Errorf("prefix changed: %s", out)
	}
	if !strings.HasSuffix(string(out), `]"]}]}},{"jsonrpc":"2.0","id":4,"result":{}}]`) {
		t.Errorf("suffix changed: %s", out)
	}
}

// checkOutput checks what every redaction must satisfy: the output is
// valid JSON of the same shape, exactly the listed paths changed, each to
// a string holding a marker, and no secret-looking thing is left to redact.
func checkOutput(t testing.TB, prefix string, in, out []byte, paths []string) {
	t.Helper()
	a, err := decodeTree(in)
	if err != nil {
		t.Fatalf("input: %v", err)
	}
	b, err := decodeTree(out)
	if err != nil {
		t.Fatalf("output is not valid JSON: %v\n%s", err, out)
	}
	if err := sameShape(a, b); err != nil {
		t.Fatalf("shape changed: %v\nin:  %s\nout: %s", err, in, out)
	}
	changed := stringsChanged(a, b, prefix, nil)
	for _, p := range changed {
		if !slices.Contains(paths, p) {
			t.Errorf("string at %q changed but is not listed in %q", p, paths)
		}
	}
	for _, p := range paths {
		nodes, err := lookup(b, prefix, p)
		if err != nil {
			t.Errorf("listed path %q: %v\n%s", p, err, out)
			continue
		}
		found := false
		for _, n := range nodes {
			found = found || n.kind == '"' && anyMarker.MatchString(n.str)
		}
		if !found {
			t.Errorf("listed path %q holds no marker", p)
		}
	}
	if len(paths) == 0 && !bytes.Equal(in, out) {
		t.Errorf("nothing listed but output differs:\n%s\n%s", in, out)
	}
}

func TestMarkers(t *testing.T) {
	r1 := newTestRedactor(t, Config{})
	msg := []byte(`{"a":{"password":"s3cret!"},"b":["postgres://u:s3cret!@h/db"],"c":{"password":"other"}}`)
	out, _, err := r1.Redact("msg", msg)
	if err != nil {
		t.Fatal(err)
	}
	hashes := func(b []byte) []string {
		var hs []string
		for _, m := range anyMarker.FindAll(b, -1) {
			hs = append(hs, string(m[len(m)-1-HashLen:len(m)-1]))
		}
		return hs
	}
	h := hashes(out)
	if len(h) != 3 {
		t.Fatalf("markers %q in %s", h, out)
	}
	t.Run("same secret same hash", func(t *testing.T) {
		if h[0] != h[1] {
			t.Errorf("same secret gave %s and %s", h[0], h[1])
		}
		if h[0] == h[2] {
			t.Errorf("different secrets gave the same hash %s", h[0])
		}
		again, _, _ := newTestRedactor(t, Config{}).Redact("msg", msg)
		if !bytes.Equal(again, out) {
			t.Error("a second Redactor with the same key gave other markers")
		}
	})
	t.Run("other site key", func(t *testing.T) {
		r2 := newTestRedactor(t, Config{SiteKey: []byte("another-site-key-0000")})
		out2, _, err := r2.Redact("msg", msg)
		if err != nil {
			t.Fatal(err)
		}
		h2 := hashes(out2)
		if len(h2) != 3 || h2[0] == h[0] || h2[2] == h[2] {
			t.Errorf("site keys do not separate markers: %q vs %q", h, h2)
		}
	})
	t.Run("hash is the keyed hmac", func(t *testing.T) {
		got := string(appendMarker(nil, testKey, "password", []byte("s3cret!")))
		if !strings.HasSuffix(got, h[0]+"]") || !IsMarker([]byte(got)) {
			t.Errorf("marker %q, hash %s", got, h[0])
		}
	})
	t.Run("secret never in output", func(t *testing.T) {
		if bytes.Contains(out, []byte("s3cret")) || bytes.Contains(out, []byte("other")) {
			t.Errorf("secret in output: %s", out)
		}
	})
}

func TestNoSecretInOutput(t *testing.T) {
	r := newTestRedactor(t, Config{})
	secrets := []string{fakeAWSID, fakeAWSSecret, fakeGCP, fakeAzure, fakeGHP, fakeGHPAT, fakeGitLab, fakeSlackBot,
		fakeSlackApp, fakeSlackHook, fakeStripe, fakeStripeRK, fakeOpenAI, fakeAnthropic, fakeJWT, fakeURLPass, fakeBearer}
	text := strings.Join([]string{
		"id " + fakeAWSID, "aws_secret_access_key=" + fakeAWSSecret, fakeGCP, "AccountKey=" + fakeAzure,
		fakeGHP, fakeGHPAT, fakeGitLab, fakeSlackBot, fakeSlackApp, "https://hooks.slack.com/services/" + fakeSlackHook,
		fakeStripe, fakeStripeRK, fakeOpenAI, fakeAnthropic, fakeJWT, "mysql://root:" + fakeURLPass + "@db",
		"Authorization: Bearer " + fakeBearer, fakePrivateKey,
	}, "\n")
	q, _ := jsonQuote(text)
	// Once plainly, once with every character \u-escaped.
	for _, v := range []string{q, escapeAll(text)} {
		in := []byte(`{"result":{"content":[{"type":"text","text":` + v + `}]}}`)
		out, paths, err := r.Redact("msg", in)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range append(secrets, "MIIEowIBAAKCAQEA7bq3Xk") {
			if bytes.Contains(out, []byte(s)) {
				t.Errorf("secret %q in output %s", s, out)
			}
		}
		if !slices.Equal(paths, []string{"msg.result.content.0.text"}) {
			t.Errorf("paths %q", paths)
		}
		if n := len(anyMarker.FindAll(out, -1)); n != 18 {
			t.Errorf("%d markers, want 18: %s", n, out)
		}
		checkOutput(t, "msg", in, out, paths)
	}
}

func escapeAll(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r > 0xffff {
			panic("test text is BMP only")
		}
		b.WriteString(`\u`)
		const hex = "0123456789abcdef"
		b.WriteByte(hex[r>>12&15])
		b.WriteByte(hex[r>>8&15])
		b.WriteByte(hex[r>>4&15])
		b.WriteByte(hex[r&15])
	}
	b.WriteByte('"')
	return b.String()
}

func TestRawPaths(t *testing.T) {
	r := newTestRedactor(t, Config{RawPaths: []string{
		"msg.params.arguments.query",
		"msg.result.content.*.text",
		`msg.params.arguments.a\.b`,
	}})
	in := []byte(`{"params":{"arguments":{"query":"password=` + fakeGHP + `","a.b":{"password":"x"},"other":"` + fakeGHP + `","password":"y"}},` +
		`"result":{"content":[{"text":"` + fakeGHP + `","more":"` + fakeGitLab + `"}]}}`)
	out, paths, err := r.Redact("msg", in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"msg.params.arguments.other", "msg.params.arguments.password", "msg.result.content.0.more"}
	if !slices.Equal(paths, want) {
		t.Errorf("paths %q, want %q\n%s", paths, want, out)
	}
	if !bytes.Contains(out, []byte(`"query":"password=`+fakeGHP+`"`)) || !bytes.Contains(out, []byte(`{"text":"`+fakeGHP+`"`)) ||
		!bytes.Contains(out, []byte(`"a.b":{"password":"x"}`)) {
		t.Errorf("raw paths were redacted: %s", out)
	}
	checkOutput(t, "msg", in, out, paths)
}

func TestIdempotent(t *testing.T) {
	r := newTestRedactor(t, Config{ExtraPatterns: []Pattern{{Kind: "employee_id", Regexp: `EMP-[0-9]{6}`}}})
	in := []byte(`{"a":"` + fakeGHP + ` and EMP-123456","password":"pw","u":"https://x:` + fakeGHP + `@h","b":"Bearer ` + fakeJWT + `",` +
		`"c":"[REDACTED:password:0123456789ab]","token":"[REDACTED:jwt:0123456789ab]"}`)
	once, paths, err := r.Redact("msg", in)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 4 {
		t.Errorf("paths %q", paths)
	}
	twice, paths2, err := r.Redact("msg", once)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(once, twice) || paths2 != nil {
		t.Errorf("second pass changed the message:\n%s\n%s\n%q", once, twice, paths2)
	}
	if &twice[0] != &once[0] {
		t.Error("second pass did not return its input")
	}
}

func TestFastPathReturnsInput(t *testing.T) {
	r := newTestRedactor(t, Config{})
	msg := benchMessage(false)
	out, paths, err := r.Redact("msg", msg)
	if err != nil || paths != nil || &out[0] != &msg[0] || len(out) != len(msg) {
		t.Fatalf("clean message not returned as is: %v %q", err, paths)
	}
	if n := testing.AllocsPerRun(100, func() { _, _, _ = r.Redact("msg", msg) }); n != 0 {
		t.Errorf("%v allocations on the clean path", n)
	}
}

func TestInvalidJSON(t *testing.T) {
	for _, cfg := range []Config{{}, {Disable: true}, {RawPaths: []string{"msg"}}} {
		r := newTestRedactor(t, cfg)
		for _, in := range []string{
			``, ` `, `{`, `{"a":}`, `{"a":1,}`, `[1 2]`, `"abc`, `{"a":1}}`, `{"a":1} x`, `{} {}`, `nul`, `01`,
			"\"\xff\"", `{"a":"\u00"}`, `{"password":`, `[{"token":"x"]`,
		} {
			out, paths, err := r.Redact("msg", []byte(in))
			if err == nil {
				t.Errorf("%+v: Redact(%q) = %q, %q, want an error", cfg, in, out, paths)
			}
		}
	}
}

func TestValidScalars(t *testing.T) {
	r := newTestRedactor(t, Config{})
	for _, in := range []string{`1`, ` null `, `"plain"`, "{}\n", `[]`, `{"a":{"b":[]}}`, `{"a":1,"a":2}`} {
		out, paths, err := r.Redact("msg", []byte(in))
		if err != nil || paths != nil || string(out) != in {
			t.Errorf("Redact(%q) = %q, %q, %v", in, out, paths, err)
		}
	}
	out, paths, err := r.Redact("msg", []byte(`"`+fakeGHP+`"`))
	if err != nil || !slices.Equal(paths, []string{"msg"}) || bytes.Contains(out, []byte(fakeGHP)) {
		t.Errorf("root string: %s %q %v", out, paths, err)
	}
	_, paths, _ = r.Redact("", []byte(`{"a":{"password":"x"}}`))
	if !slices.Equal(paths, []string{"a.password"}) {
		t.Errorf("empty prefix: %q", paths)
	}
}

func TestDisable(t *testing.T) {
	r := newTestRedactor(t, Config{Disable: true})
	in := []byte(`{"password":"hunter2","t":"` + fakeGHP + `"}`)
	out, paths, err := r.Redact("msg", in)
	if err != nil || paths != nil || !bytes.Equal(out, in) {
		t.Errorf("disabled redactor changed %s into %s (%q, %v)", in, out, paths, err)
	}
}

func TestExtraPatterns(t *testing.T) {
	r := newTestRedactor(t, Config{ExtraPatterns: []Pattern{
		{Kind: "employee_id", Regexp: `EMP-[0-9]{6}`},
		{Kind: "internal_token", Regexp: `(?i)itk=([a-z0-9]{8,})`},
	}})
	got, _ := redactOne(t, r, "EMP-123456 used itk=abcd1234efgh today; EMP-12 is short")
	if !regexpMatch(`^\[REDACTED:employee_id:[0-9a-f]{12}\] used itk=\[REDACTED:internal_token:[0-9a-f]{12}\] today; EMP-12 is short$`, got) {
		t.Errorf("got %q", got)
	}
}

func TestConfigErrors(t *testing.T) {
	check := func(name string, cfg Config, want string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			t.Helper()
			if cfg.SiteKey == nil {
				cfg.SiteKey = testKey
			}
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("New: %v, want an error containing %q", err, want)
			}
		})
	}
	check("short key", Config{SiteKey: []byte("short")}, "site key is 5 bytes")
	check("bad regexp", Config{ExtraPatterns: []Pattern{{Kind: "ok", Regexp: `EMP-[0-9`}}}, "EMP-[0-9")
	check("bad kind", Config{ExtraPatterns: []Pattern{{Kind: "Bad:Kind", Regexp: `x`}}}, `kind "Bad:Kind"`)
	check("empty regexp", Config{ExtraPatterns: []Pattern{{Kind: "k", Regexp: ``}}}, "empty regexp")
	check("matches empty", Config{ExtraPatterns: []Pattern{{Kind: "k", Regexp: `a*`}}}, "matches the empty string")
	check("empty key", Config{ExtraKeys: []string{"--"}}, `extra key 0 "--"`)
	check("raw path star", Config{RawPaths: []string{"msg.a*"}}, `raw path 0 "msg.a*"`)
	check("raw path backslash", Config{RawPaths: []string{`msg.a\`}}, "lone backslash")
	check("raw path empty", Config{RawPaths: []string{""}}, "empty path")
}

func TestConcurrent(t *testing.T) {
	r := newTestRedactor(t, Config{})
	clean, dirty := benchMessage(false), benchMessage(true)
	want, wantPaths, _ := r.Redact("msg", dirty)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				out, paths, err := r.Redact("msg", dirty)
				if err != nil || !bytes.Equal(out, want) || !slices.Equal(paths, wantPaths) {
					t.Error("concurrent result differs")
					return
				}
				if out, _, _ := r.Redact("msg", clean); &out[0] != &clean[0] {
					t.Error("clean message changed")
					return
				}
			}
		})
	}
	wg.Wait()
}
