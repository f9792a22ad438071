package schemas

import (
	"bufio"
	"bytes"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaNode is the part of a JSON Schema object the sync test reads.
type schemaNode struct {
	Type       any                    `json:"type"`
	Ref        string                 `json:"$ref"`
	Const      any                    `json:"const"`
	Enum       []any                  `json:"enum"`
	Required   []string               `json:"required"`
	Properties map[string]*schemaNode `json:"properties"`
	Defs       map[string]*schemaNode `json:"$defs"`
	Items      *schemaNode            `json:"items"`
}

// TestSchemaMatchesGoTypes walks Record and the JSON Schema side by side:
// every JSON member of a Go type is a schema property of a matching JSON
// type and vice versa, and a member is required exactly when its Go field
// has neither omitempty nor omitzero.
func TestSchemaMatchesGoTypes(t *testing.T) {
	var root schemaNode
	if err := json.Unmarshal(CaptureJSONSchema, &root); err != nil {
		t.Fatalf("capture.schema.json: %v", err)
	}
	resolve := func(n *schemaNode) *schemaNode {
		t.Helper()
		if n.Ref == "" {
			return n
		}
		def := root.Defs[strings.TrimPrefix(n.Ref, "#/$defs/")]
		if def == nil {
			t.Fatalf("unresolved $ref %s", n.Ref)
		}
		return def
	}
	var walk func(path string, goType reflect.Type, node *schemaNode)
	walk = func(path string, goType reflect.Type, node *schemaNode) {
		t.Helper()
		node = resolve(node)
		var required []string
		seen := map[string]bool{}
		for i := range goType.NumField() {
			f := goType.Field(i)
			tag := f.Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			if name == "" || name == "-" || opts == "embed" {
				continue
			}
			seen[name] = true
			prop := node.Properties[name]
			if prop == nil {
				t.Errorf("%s%s: Go field %s has no schema property", path, name, f.Name)
				continue
			}
			if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
				required = append(required, name)
			}
			checkType(t, path+name, f.Type, resolve(prop))
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
				walk(path+name+".", ft, prop)
			}
		}
		for name := range node.Properties {
			if !seen[name] {
				t.Errorf("%s%s: schema property has no Go field in %s", path, name, goType)
			}
		}
		slices.Sort(required)
		schemaRequired := slices.Sorted(slices.Values(node.Required))
		if !slices.Equal(required, schemaRequired) {
			t.Errorf("%s: required members differ: Go (fields without omitempty) %v, schema %v", goType, required, schemaRequired)
		}
	}
	walk("", reflect.TypeFor[Record](), &root)
}

func checkType(t *testing.T, path string, goType reflect.Type, node *schemaNode) {
	t.Helper()
	if node.Const != nil || node.Enum != nil {
		return // constants and enums are checked by the validator tests
	}
	types := map[string]bool{}
	switch v := node.Type.(type) {
	case string:
		types[v] = true
	case []any:
		for _, s := range v {
			types[s.(string)] = true
		}
	}
	if goType.Kind() == reflect.Pointer {
		goType = goType.Elem()
	}
	var want []string
	switch {
	case goType == reflect.TypeFor[time.Time]():
		want = []string{"string"}
	case goType == reflect.TypeFor[jsontext.Value]():
		return // any JSON; its allowed kinds are in the schema
	case goType == reflect.TypeFor[Audience]():
		want = []string{"string", "array"}
	case goType.Kind() == reflect.String:
		want = []string{"string"}
	case goType.Kind() >= reflect.Int && goType.Kind() <= reflect.Uint64:
		want = []string{"integer"}
	case goType.Kind() == reflect.Slice:
		want = []string{"array"}
	case goType.Kind() == reflect.Map || goType.Kind() == reflect.Struct:
		want = []string{"object"}
	default:
		t.Errorf("%s: no JSON type known for Go type %s", path, goType)
		return
	}
	for _, w := range want {
		if !types[w] {
			t.Errorf("%s: schema type %v does not allow %q (Go type %s)", path, node.Type, w, goType)
		}
	}
	if len(types) != len(want) {
		t.Errorf("%s: schema type %v, want %v for Go type %s", path, node.Type, want, goType)
	}
}

func compileCaptureSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(CaptureJSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("capture.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("capture.schema.json")
	if err != nil {
		t.Fatalf("compile capture.schema.json: %v", err)
	}
	return s
}

// TestSchemaAgreesWithReader runs a JSON Schema validator and the reader
// over the same lines: the sample and data set lines both accept, and the
// bad lines of the reader's table that the schema can express both reject.
func TestSchemaAgreesWithReader(t *testing.T) {
	schema := compileCaptureSchema(t)
	check := func(t *testing.T, line string, wantValid bool) {
		t.Helper()
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
		if err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		schemaErr := schema.Validate(doc)
		_, readErrs := readAll(t, line)
		if (schemaErr == nil) != wantValid || (len(readErrs) == 0) != wantValid {
			t.Errorf("want valid=%v; schema says %v, reader says %v\nline: %.300s", wantValid, schemaErr, readErrs, line)
		}
	}
	files := []string{"testdata/sample.capture.jsonl"}
	if _, err := os.Stat(devCapture); err == nil {
		files = append(files, devCapture)
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, DefaultMaxLineBytes)
		n := 0
		for sc.Scan() && n < 2000 {
			check(t, sc.Text(), true)
			n++
		}
		f.Close()
	}
	for _, bad := range []string{
		withField(t, "v", ""), withField(t, "v", "2"), withField(t, "ts", `"yesterday"`),
		withField(t, "host", `""`), withField(t, "host", "7"), withField(t, "session", ""),
		withField(t, "server", `{"version":"1"}`), withField(t, "transport", `"pigeon"`),
		withField(t, "dir", `"up"`), withField(t, "msg", ""), withField(t, "msg", `"hi"`),
		withField(t, "token", `{"kind":"jwt"}`), withField(t, "token", `{"fp":"a","aud":5}`),
		withField(t, "auth", `{"type":"login"}`),
		withField(t, "http", `{"headers":{"AUTHORIZATION":"Bearer x"}}`),
		withField(t, "seq", "3"),
		strings.Replace(goodLine, `"v":1,`, `"v":1,"stream":"s","seq":1,"chain":"xyz",`, 1),
	} {
		check(t, bad, false)
	}
}
