package schemas

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

const goodLine = `{"v":1,"ts":"2026-11-24T10:00:00.123456Z","host":"laptop-7","session":"9f1c2e","client":{"name":"claude-desktop","version":"0.9.3"},"server":{"name":"github","version":"1.4.0","command":"npx -y @modelcontextprotocol/server-github"},"transport":"stdio","dir":"c2s","msg":{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"path":"secrets.env"}}}}`

// readAll reads every line of input and returns the good records and the
// line errors; it fails the test on any other error.
func readAll(t *testing.T, input string, opts ...ReaderOption) ([]*Record, []*LineError) {
	t.Helper()
	r := NewReader(strings.NewReader(input), opts...)
	var recs []*Record
	var errs []*LineError
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs, errs
		}
		var le *LineError
		switch {
		case errors.As(err, &le):
			errs = append(errs, le)
		case err != nil:
			t.Fatalf("unexpected error: %v", err)
		default:
			recs = append(recs, rec)
		}
	}
}

// withField returns goodLine with one top-level member replaced (value is
// raw JSON) or, when value is "", removed.
func withField(t *testing.T, name, value string) string {
	t.Helper()
	var m map[string]jsontext.Value // keeps member values verbatim
	if err := json.Unmarshal([]byte(goodLine), &m); err != nil {
		t.Fatal(err)
	}
	if value == "" {
		delete(m, name)
	} else {
		m[name] = jsontext.Value(value)
	}
	out, err := json.Marshal(m, json.Deterministic(true))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestReaderGoodLine(t *testing.T) {
	recs, errs := readAll(t, goodLine+"\n")
	if len(errs) != 0 || len(recs) != 1 {
		t.Fatalf("got %d records, errors %v", len(recs), errs)
	}
	rec := recs[0]
	want := time.Date(2026, 11, 24, 10, 0, 0, 123456000, time.UTC)
	if !rec.TS.Equal(want) || rec.Host != "laptop-7" || rec.Session != "9f1c2e" ||
		rec.Server.Name != "github" || rec.Server.Command == "" || rec.Client.Name != "claude-desktop" ||
		rec.Transport != TransportStdio || rec.Dir != ClientToServer || rec.Msg.Kind() != '{' {
		t.Errorf("decoded record is wrong: %+v", rec)
	}
}

func TestReaderLineErrors(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		kind      ErrorKind
		field     string
		reasonHas string
	}{
		{"truncated", goodLine[:len(goodLine)-10], ErrSyntax, "msg.params.arguments.path", "truncated"},
		{"not an object", `[1,2]`, ErrWrongType, "", "must be a JSON object"},
		{"trailing garbage", goodLine + ` x`, ErrSyntax, "", "invalid character"},
		{"duplicate member", `{"v":1,"v":1}`, ErrSyntax, "v", "duplicate"},
		{"missing v", withField(t, "v", ""), ErrMissingField, "v", "missing"},
		{"missing ts", withField(t, "ts", ""), ErrMissingField, "ts", "missing"},
		{"missing host", withField(t, "host", ""), ErrMissingField, "host", "missing"},
		{"empty session", withField(t, "session", `""`), ErrMissingField, "session", "missing"},
		{"missing server name", withField(t, "server", `{"version":"1"}`), ErrMissingField, "server.name", "missing"},
		{"missing transport", withField(t, "transport", ""), ErrMissingField, "transport", "missing"},
		{"missing dir", withField(t, "dir", ""), ErrMissingField, "dir", "missing"},
		{"missing msg", withField(t, "msg", ""), ErrMissingField, "msg", "missing"},
		{"v wrong type", withField(t, "v", `"1"`), ErrWrongType, "v", "got JSON string, want number"},
		{"host wrong type", withField(t, "host", `7`), ErrWrongType, "host", "got JSON number, want string"},
		{"server wrong type", withField(t, "server", `"github"`), ErrWrongType, "server", "want object"},
		{"msg wrong type", withField(t, "msg", `"hello"`), ErrWrongType, "msg", "JSON-RPC"},
		{"ts not a time", withField(t, "ts", `"yesterday"`), ErrInvalidValue, "ts", "cannot read JSON string"},
		{"unsupported version", withField(t, "v", `2`), ErrInvalidValue, "v", "not supported"},
		{"unknown transport", withField(t, "transport", `"carrier-pigeon"`), ErrInvalidValue, "transport", "unknown transport"},
		{"unknown dir", withField(t, "dir", `"up"`), ErrInvalidValue, "dir", "unknown direction"},
		{"token without fp", withField(t, "token", `{"kind":"jwt"}`), ErrMissingField, "token.fp", "missing"},
		{"bad token kind", withField(t, "token", `{"fp":"ab","kind":"paper"}`), ErrInvalidValue, "token.kind", "unknown token kind"},
		{"aud wrong type", withField(t, "token", `{"fp":"ab","aud":5}`), ErrWrongType, "token.aud", "audience must be"},
		{"bad auth type", withField(t, "auth", `{"type":"login"}`), ErrInvalidValue, "auth.type", "unknown auth event type"},
		{"parse error without reason", withField(t, "parse_error", `{"bytes":3}`), ErrMissingField, "parse_error.reason", "missing"},
		{"raw authorization header", withField(t, "http", `{"headers":{"Authorization":"Bearer x"}}`), ErrInvalidValue, "http.headers.Authorization", "never be recorded"},
		{"seq without stream", withField(t, "seq", `3`), ErrMissingField, "stream", "missing"},
		{"chain not hex", strings.Replace(goodLine, `"v":1,`, `"v":1,"stream":"s","seq":1,"chain":"xyz",`, 1), ErrInvalidValue, "chain", "64 lowercase hex"},
		{"invalid UTF-8", strings.Replace(goodLine, "laptop-7", "laptop-\xff", 1), ErrInvalidUTF8, "host", "0xff"},
		{"empty line", "", ErrEmptyLine, "", "empty line"},
		{"blank line", " \t ", ErrEmptyLine, "", "empty line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, errs := readAll(t, tt.line+"\n"+goodLine+"\n")
			if len(recs) != 1 {
				t.Errorf("the good line after the bad one was not read: %d records", len(recs))
			}
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(errs), errs)
			}
			e := errs[0]
			if e.Line != 1 || e.Kind != tt.kind || e.Field != tt.field || !strings.Contains(e.Reason, tt.reasonHas) {
				t.Errorf("got line %d kind %q field %q reason %q;\nwant line 1 kind %q field %q reason containing %q",
					e.Line, e.Kind, e.Field, e.Reason, tt.kind, tt.field, tt.reasonHas)
			}
			if !strings.HasPrefix(e.Error(), "line 1") {
				t.Errorf("error text does not name the line: %q", e.Error())
			}
		})
	}
}

func TestReaderLineLimit(t *testing.T) {
	long := withField(t, "host", `"`+strings.Repeat("h", 300)+`"`)
	input := goodLine + "\n" + long + "\n" + goodLine + "\r\n" + goodLine // CRLF and no final newline
	recs, errs := readAll(t, input, WithMaxLineBytes(len(goodLine)+10))
	if len(recs) != 3 || len(errs) != 1 {
		t.Fatalf("got %d records and errors %v, want 3 records and 1 error", len(recs), errs)
	}
	if errs[0].Line != 2 || errs[0].Kind != ErrLineTooLong || !strings.Contains(errs[0].Reason, "bytes") {
		t.Errorf("got %v, want line 2 too long", errs[0])
	}
}

// TestReaderDefaultLimit streams a line just over 64 MiB and one just
// under, without holding the first in memory at once.
func TestReaderDefaultLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 128 MiB")
	}
	prefix := `{"v":1,"ts":"2026-11-24T10:00:00Z","host":"h","session":"s","server":{"name":"x"},"transport":"stdio","dir":"s2c","msg":{"jsonrpc":"2.0","id":1,"result":{"text":"`
	suffix := `"}}}` + "\n"
	line := func(size int) io.Reader {
		pad := size - len(prefix) - len(suffix) + 1
		return io.MultiReader(strings.NewReader(prefix), io.LimitReader(repeatReader('a'), int64(pad)), strings.NewReader(suffix))
	}
	r := NewReader(io.MultiReader(line(DefaultMaxLineBytes+1), line(DefaultMaxLineBytes), strings.NewReader(goodLine)))
	var le *LineError
	if _, err := r.Next(); !errors.As(err, &le) || le.Kind != ErrLineTooLong || le.Line != 1 {
		t.Fatalf("line 1: got %v, want too long", err)
	}
	rec, err := r.Next()
	if err != nil || len(rec.Msg) < DefaultMaxLineBytes-200 {
		t.Fatalf("line 2 (exactly the limit): got %v", err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatalf("line 3: %v", err)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
}

type repeatReader byte

func (b repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestReaderKeepsUnknownMembers(t *testing.T) {
	line := strings.Replace(goodLine, `"v":1,`, `"v":1,"future":{"x":[1,2]},`, 1)
	recs, errs := readAll(t, line)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	out, err := json.Marshal(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"future":{"x":[1,2]}`)) {
		t.Errorf("unknown member lost on re-encoding: %s", out)
	}
}

func TestAudience(t *testing.T) {
	tests := []struct {
		in   string
		want Audience
		out  string
	}{
		{`"https://mcp.example"`, Audience{"https://mcp.example"}, `"https://mcp.example"`},
		{`["a","b"]`, Audience{"a", "b"}, `["a","b"]`},
		{`null`, nil, `[]`},
	}
	for _, tt := range tests {
		var a Audience
		if err := json.Unmarshal([]byte(tt.in), &a); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if strings.Join(a, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: got %v", tt.in, a)
		}
		if out, _ := json.Marshal(a); string(out) != tt.out {
			t.Errorf("%s: re-encoded as %s, want %s", tt.in, out, tt.out)
		}
	}
}
