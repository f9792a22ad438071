package redact_test

import (
	"fmt"

	"github.com/mcptrail/mcptrail/collector/redact"
)

func Example() {
	r, err := redact.New(redact.Config{
		SiteKey:  []byte("example-site-key-not-for-production"),
		RawPaths: []string{"msg.params.arguments.query"},
	})
	if err != nil {
		panic(err)
	}
	msg := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"db","arguments":` +
		`{"query":"select 1","dsn":"postgres://app:hunter2@db/main","password":"hunter2"}}}`)
	out, paths, err := r.Redact("msg", msg)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	fmt.Println(paths)
	// Output:
	// {"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"db","arguments":{"query":"select 1","dsn":"postgres://app:[REDACTED:url_password:cee4fc6e3f6a]@db/main","password":"[REDACTED:password:cee4fc6e3f6a]"}}}
	// [msg.params.arguments.dsn msg.params.arguments.password]
}
