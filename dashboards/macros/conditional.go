package macros

import (
	"fmt"
	"strings"
)

const conditionalAll = "$__conditionalAll("

// ConditionalAll replaces every $__conditionalAll(condition, $var) by the
// condition, or by 1=1 when the variable's selection is "All" or empty, as
// the ClickHouse plugin's frontend does before interpolating variables. The
// second argument may be $var or ${var}.
func ConditionalAll(sql string, c Context) (string, error) {
	for {
		i := strings.LastIndex(sql, conditionalAll)
		if i < 0 {
			return sql, nil
		}
		open := i + len(conditionalAll) - 1
		args, end, err := macroArgs(sql, open)
		if err != nil {
			return "", fmt.Errorf("macros: $__conditionalAll: %w", err)
		}
		if len(args) != 2 {
			return "", fmt.Errorf("macros: $__conditionalAll wants 2 arguments (condition, $variable), got %d in %q", len(args), clip(sql[i:]))
		}
		name := strings.TrimSpace(args[1])
		name = strings.TrimPrefix(name, "$")
		name = strings.TrimSuffix(strings.TrimPrefix(name, "{"), "}")
		v := c.lookup(name)
		if v == nil {
			return "", fmt.Errorf("macros: $__conditionalAll refers to undefined variable %q", name)
		}
		phrase := args[0]
		if cur := v.current(); cur == "" || cur == AllValue {
			phrase = "1=1"
		}
		sql = sql[:i] + phrase + sql[end:]
	}
}
