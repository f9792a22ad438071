package schemas

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
)

// unmarshalLine is how a line was decoded before Decoder: json.Unmarshal
// and Validate. Decoder must give the same record or the same error.
func unmarshalLine(line []byte) (*Record, error) {
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, &LineError{Line: 1, Kind: ErrEmptyLine, Reason: "empty line (every line must hold one JSON object)"}
	}
	var rec Record
	if err := json.Unmarshal(line, &rec); err != nil {
		return nil, decodeError(1, line, err)
	}
	if err := rec.Validate(); err != nil {
		fe := err.(*FieldError)
		return nil, &LineError{Line: 1, Field: fe.Field, Kind: fe.Kind, Reason: fe.Reason}
	}
	return &rec, nil
}

// decoders are a Decoder as the processor uses it and one as a Reader
// does (noWalk), each kept from line to line.
type decoders struct{ walk, noWalk Decoder }

func newDecoders() *decoders {
	ds := &decoders{}
	ds.noWalk.noWalk = true
	return ds
}

// checkDecoder decodes line with both decoders and with unmarshalLine and
// fails unless all give the same record and events, or the same error.
func checkDecoder(t *testing.T, ds *decoders, line []byte) {
	t.Helper()
	want, wantErr := unmarshalLine(line)
	for _, d := range []*Decoder{&ds.walk, &ds.noWalk} {
		var got Record
		err := d.Decode(line, &got)
		if !reflect.DeepEqual(err, wantErr) {
			t.Fatalf("%q (noWalk %v):\nDecoder error   %v\nUnmarshal error %v", line, d.noWalk, err, wantErr)
		}
		if err != nil {
			continue
		}
		if !reflect.DeepEqual(&got, want) {
			t.Fatalf("%q (noWalk %v):\nDecoder   %+v\nUnmarshal %+v", line, d.noWalk, got, *want)
		}
		if evs, wantEvs := d.AppendEvents(nil, &got), NewEvents(want); !reflect.DeepEqual(evs, wantEvs) {
			t.Fatalf("%q (noWalk %v):\nDecoder events   %+v\nUnmarshal events %+v", line, d.noWalk, evs, wantEvs)
		}
	}
}

// decoderLines are lines that take every way through Decoder: the direct
// decoding, each reason to give it up, and bad lines of every kind.
func decoderLines(t testing.TB) []string {
	t.Helper()
	member := func(name, value string) string {
		return strings.Replace(goodLine, `"v":1,`, `"v":1,`+strconv.Quote(name)+`:`+value+`,`, 1)
	}
	replace := func(old, new string) string { return strings.Replace(goodLine, old, new, 1) }
	lines := []string{
		goodLine,
		" \t" + goodLine + " \r\n ",
		`{}`, `null`, `[]`, `""`, `{"v":1}`, ` `, ``,
		// numbers
		replace(`"v":1`, `"v":1.0`), replace(`"v":1`, `"v":1e0`), replace(`"v":1`, `"v":-1`),
		replace(`"v":1`, `"v":0`), replace(`"v":1`, `"v":01`), replace(`"v":1`, `"v":99999999999999999999`),
		replace(`"v":1`, `"v":9223372036854775807`), replace(`"v":1`, `"v":null`), replace(`"v":1`, `"v":true`),
		// times
		replace(`10:00:00.123456Z`, `10:00:00Z`), replace(`10:00:00.123456Z`, `10:00:00.123456789Z`),
		replace(`10:00:00.123456Z`, `10:00:00.1234567891Z`), replace(`10:00:00.123456Z`, `10:00:00,123456Z`),
		replace(`10:00:00.123456Z`, `10:00:00.123456z`), replace(`10:00:00.123456Z`, `10:00:00.123456+02:00`),
		replace(`10:00:00.123456Z`, `10:00:00.123456+24:00`), replace(`T10:00:00.123456Z`, `T1:00:00.123456Z`),
		replace(`2026-11-24T`, `2026-02-30T`), replace(`10:00:00.123456Z`, `24:00:00Z`), replace(`10:00:00.123456Z`, `10:00:60Z`),
		replace(`2026-11-24T`, `2026-11-24t`), replace(`"ts":"2026-11-24T10:00:00.123456Z"`, `"ts":"2026-11-24T10:00:00\u005a"`),
		replace(`"ts":"2026-11-24T10:00:00.123456Z"`, `"ts":null`), replace(`"ts":"2026-11-24T10:00:00.123456Z"`, `"ts":1732442400`),
		replace(`"ts":"2026-11-24T10:00:00.123456Z"`, `"ts":"2026-11-24"`),
		// strings
		replace(`"laptop-7"`, `"laptop-\u0037"`), replace(`"laptop-7"`, `"laptop-\"7"`), replace(`"laptop-7"`, `null`),
		replace(`"laptop-7"`, `""`), replace(`"laptop-7"`, `7`), replace(`"laptop-7"`, `"laptop-\xff"`),
		replace(`"laptop-7"`, `"ノートパソコン"`), replace(`"laptop-7"`, `"`+strings.Repeat("h", 300)+`"`),
		replace(`"stdio"`, `"sse"`), replace(`"stdio"`, `"STDIO"`), replace(`"c2s"`, `"s2c"`), replace(`"c2s"`, `"up"`),
		// client and server
		replace(`"client":{"name":"claude-desktop","version":"0.9.3"}`, `"client":null`),
		replace(`"client":{"name":"claude-desktop","version":"0.9.3"}`, `"client":{}`),
		replace(`"client":{"name":"claude-desktop","version":"0.9.3"}`, `"client":"x"`),
		replace(`"version":"0.9.3"}`, `"version":"0.9.3","build":7}`),
		replace(`"version":"0.9.3"}`, `"version":"0.9.3","name":"again"}`),
		replace(`"version":"0.9.3"}`, `"Version":"0.9.3"}`),
		replace(`"server":{"name":"github",`, `"server":{"url":"https://mcp.example/x","name":"github",`),
		replace(`"server":{"name":"github",`, `"server":{"name":"github","name":"gitlab",`),
		replace(`"server":{"name":"github","version":"1.4.0","command":"npx -y @modelcontextprotocol/server-github"}`, `"server":null`),
		replace(`"server":{"name":"github","version":"1.4.0","command":"npx -y @modelcontextprotocol/server-github"}`, `"server":[]`),
		// msg
		replace(`"id":7,`, `"id":"7",`), replace(`"id":7,`, ``), replace(`"id":7,`, `"id":7,"id":8,`),
		replace(`"arguments":{"path":"secrets.env"}`, `"arguments":{"path":"a","path":"b"}`),
		replace(`"arguments":{"path":"secrets.env"}`, `"arguments":{"path":"a\u0000\ud83d\ude00"}`),
		replace(`"arguments":{"path":"secrets.env"}`, `"arguments":{"path":"\ud800"}`),
		replace(`"msg":{`, `"msg":[{`) + "]",
		replace(`"msg":{`, `"msg":[1,{`) + "]",
		replace(`"msg":{`, `"msg" : {`),
		strings.Replace(replace(`"msg":{`, `"msg":[`), `}}}}`, `}}}]}`, 1),
		replace(`"msg":{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"path":"secrets.env"}}}`, `"msg":[]`),
		replace(`"msg":{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"path":"secrets.env"}}}`, `"msg":"hello"`),
		replace(`"msg":{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"path":"secrets.env"}}}`, `"msg":null`),
		replace(`"msg":{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"path":"secrets.env"}}}`, `"msg":{"jsonrpc":"2.0","id":7,"error":{"code":-1,"message":"x"}}`),
		replace(`"msg":{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"path":"secrets.env"}}}`, `"msg":{"jsonrpc":"2.0","id":7,"result":{"isError":true}}`),
		replace(`"method":"tools/call"`, `"method":"tools\/call"`),
		// chained records
		member("stream", `"s1"`), member("seq", `3`),
		replace(`"v":1,`, `"v":1,"stream":"s","seq":1,"chain":"`+strings.Repeat("ab", 32)+`",`),
		replace(`"v":1,`, `"v":1,"stream":"s","seq":18446744073709551615,"chain":"`+strings.Repeat("ab", 32)+`",`),
		replace(`"v":1,`, `"v":1,"stream":"s","seq":18446744073709551616,"chain":"`+strings.Repeat("ab", 32)+`",`),
		replace(`"v":1,`, `"v":1,"stream":"s","seq":1.5,"chain":"`+strings.Repeat("ab", 32)+`",`),
		// members json decodes itself
		member("http", `{"method":"POST","path":"/mcp","status":200,"headers":{"mcp-session-id":"x"}}`),
		member("http", `{"headers":{"Authorization":"Bearer x"}}`),
		member("http", `null`), member("http", `{"status":"200"}`),
		member("token", `{"fp":"ab","kind":"jwt","aud":"x","exp":1}`), member("token", `{"fp":"ab","aud":["x","y"]}`),
		member("token", `{"fp":"ab","aud":null}`), member("token", `{"fp":"ab","aud":5}`), member("token", `{"kind":"jwt"}`),
		member("auth", `{"type":"token_request","token":{"fp":"cd"}}`), member("auth", `{"type":"login"}`),
		member("parse_error", `{"reason":"not JSON","bytes":3,"excerpt":"abc"}`), member("parse_error", `{"bytes":3}`),
		member("redacted", `["msg.params.arguments.path"]`), member("redacted", `[]`), member("redacted", `null`), member("redacted", `[1]`),
		// unknown, duplicate and escaped names
		member("future", `{"x":[1,2]}`), member("Host", `"other"`), member("host", `"again"`), member("v", `1`),
		member(`\u0076`, `1`), replace(`"host":`, `"h\u006fst":`), replace(`"host":`, `"hostname":`),
		// trailing data
		goodLine + ` x`, goodLine + ` {}`, goodLine + `}`, goodLine[:len(goodLine)-1], goodLine[:40],
	}
	return lines
}

// TestDecoderMatchesUnmarshal: every way through Decoder gives what
// json.Unmarshal and Validate give.
func TestDecoderMatchesUnmarshal(t *testing.T) {
	ds := newDecoders()
	for _, line := range decoderLines(t) {
		checkDecoder(t, ds, []byte(line))
	}
	for _, name := range []string{"testdata/sample.capture.jsonl", devCapture} {
		data, err := os.ReadFile(name)
		if os.IsNotExist(err) && name == devCapture {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for line := range bytes.Lines(data) {
			checkDecoder(t, ds, bytes.TrimSuffix(line, []byte("\n")))
		}
	}
}

// TestDecoderDirect: the lines collectors write are decoded directly, not
// by json.Unmarshal, by both decoders; the processor's walks each message
// on the way.
func TestDecoderDirect(t *testing.T) {
	for _, name := range []string{"testdata/sample.capture.jsonl", devCapture} {
		data, err := os.ReadFile(name)
		if os.IsNotExist(err) && name == devCapture {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ds := newDecoders()
		n := 0
		for line := range bytes.Lines(data) {
			line = bytes.TrimSuffix(line, []byte("\n"))
			n++
			for _, d := range []*Decoder{&ds.walk, &ds.noWalk} {
				var rec Record
				d.msgs = d.msgs[:0]
				direct := d.direct(line, &rec)
				if walked := !d.noWalk && len(rec.Msg) > 0; !direct || len(d.msgs) > 0 != walked {
					t.Fatalf("%s: line %d (noWalk %v) not decoded directly, or %d messages walked: %s",
						name, n, d.noWalk, len(d.msgs), line)
				}
			}
		}
		if n == 0 {
			t.Fatalf("%s: no lines", name)
		}
	}
}

// TestDecoderDuplicates: a duplicate member name is a syntax error at every
// depth, as with json.Unmarshal.
func TestDecoderDuplicates(t *testing.T) {
	for _, line := range []string{
		strings.Replace(goodLine, `"v":1,`, `"v":1,"v":1,`, 1),
		strings.Replace(goodLine, `"v":1,`, `"v":1,"future":1,"future":2,`, 1),
		strings.Replace(goodLine, `"version":"0.9.3"`, `"version":"0.9.3","version":"1"`, 1),
		strings.Replace(goodLine, `"server":{"name":"github",`, `"server":{"name":"github","name":"x",`, 1),
		strings.Replace(goodLine, `"jsonrpc":"2.0",`, `"jsonrpc":"2.0","jsonrpc":"2.0",`, 1),
		strings.Replace(goodLine, `"path":"secrets.env"`, `"path":"secrets.env","path":"x"`, 1),
	} {
		var d Decoder
		var rec Record
		err := d.Decode([]byte(line), &rec)
		le, ok := err.(*LineError)
		if !ok || le.Kind != ErrSyntax || !strings.Contains(le.Reason, "duplicate") {
			t.Errorf("%s: got %v, want a duplicate name syntax error", line, err)
		}
	}
}

// TestDecoderAliases: Decode leaves msg in the line, the Reader copies it
// out of its buffer.
func TestDecoderAliases(t *testing.T) {
	line := []byte(goodLine)
	var d Decoder
	var rec Record
	if err := d.Decode(line, &rec); err != nil {
		t.Fatal(err)
	}
	if i := bytes.Index(line, rec.Msg); i < 0 || &line[i] != &rec.Msg[0] {
		t.Error("Decode copied msg")
	}
	var other Record
	if err := d.Decode(line, &other); err != nil {
		t.Fatal(err)
	}
	if evs := d.AppendEvents(nil, &rec); !reflect.DeepEqual(evs, NewEvents(&rec)) {
		t.Errorf("events of an earlier record: %+v", evs)
	}
	r := NewReader(strings.NewReader(goodLine + "\n" + strings.Replace(goodLine, "secrets.env", "public.txt", 1) + "\n"))
	first, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(first.Msg, []byte("secrets.env")) {
		t.Errorf("the Reader's first record changed with the second line: %s", first.Msg)
	}
}

// FuzzDecoder checks Decoder against json.Unmarshal and Validate on
// arbitrary lines: the same record, events and error. The seeds are the
// lines of decoderLines and the FuzzReader corpus.
func FuzzDecoder(f *testing.F) {
	for _, line := range decoderLines(f) {
		f.Add([]byte(line))
	}
	files, _ := filepath.Glob("testdata/fuzz/FuzzReader/*")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			arg, ok := strings.CutPrefix(sc.Text(), "[]byte(")
			if !ok {
				continue
			}
			input, err := strconv.Unquote(strings.TrimSuffix(arg, ")"))
			if err != nil {
				f.Fatalf("%s: %v", name, err)
			}
			for line := range strings.Lines(input) {
				f.Add([]byte(strings.TrimSuffix(line, "\n")))
			}
		}
	}
	ds := newDecoders()
	f.Fuzz(func(t *testing.T, line []byte) {
		checkDecoder(t, ds, line)
	})
}
