package macros

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Interpolate replaces template variables in s as Grafana's template
// service does with the ClickHouse plugin's formatter: $var, ${var},
// ${var:format} and [[var]] (see the package comment for the formats). Names
// that start with "__" and are not built-in variables ($__timeFilter, ...)
// are left for ExpandMacros; any other unknown name is an error.
func Interpolate(s string, c Context) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		name, format, end, ok := variableAt(s, i)
		if !ok {
			b.WriteByte(s[i])
			i++
			continue
		}
		val, known, err := c.value(name, format)
		if err != nil {
			return "", fmt.Errorf("macros: %s: %w", s[i:end], err)
		}
		if !known {
			if !strings.HasPrefix(name, "__") {
				return "", fmt.Errorf("macros: undefined variable %q in %q", name, clip(s[i:]))
			}
			val = s[i:end] // a macro: stage 3
		}
		b.WriteString(val)
		i = end
	}
	return b.String(), nil
}

// variableAt recognises a variable reference at s[i:]: $name, ${name},
// ${name:format} or [[name]] / [[name:format]].
func variableAt(s string, i int) (name, format string, end int, ok bool) {
	rest := s[i:]
	switch {
	case strings.HasPrefix(rest, "${"):
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return "", "", 0, false
		}
		name, format, _ = strings.Cut(rest[2:j], ":")
		if name == "" || wordAt(name, 0) != name {
			return "", "", 0, false
		}
		return name, format, i + j + 1, true
	case strings.HasPrefix(rest, "[["):
		j := strings.Index(rest, "]]")
		if j < 0 {
			return "", "", 0, false
		}
		name, format, _ = strings.Cut(rest[2:j], ":")
		if name == "" || wordAt(name, 0) != name {
			return "", "", 0, false
		}
		return name, format, i + j + 2, true
	case strings.HasPrefix(rest, "$"):
		name = wordAt(rest, 1)
		if name == "" {
			return "", "", 0, false
		}
		return name, "", i + 1 + len(name), true
	}
	return "", "", 0, false
}

// value returns the text a reference to name with format stands for, and
// whether name is a variable at all.
func (c *Context) value(name, format string) (string, bool, error) {
	if v, ok := c.builtin(name); ok {
		if format != "" && format != "raw" {
			return "", true, fmt.Errorf("format %q is not supported on built-in variable %s", format, name)
		}
		return v, true, nil
	}
	v := c.lookup(name)
	if v == nil {
		return "", false, nil
	}
	if v.All && v.CustomAll != "" {
		return v.CustomAll, true, nil // Grafana does not format a custom all value
	}
	values := v.Values
	if v.All {
		values = v.Options
	}
	out, err := formatValues(values, v.Multi || v.All, format)
	return out, true, err
}

// builtin returns Grafana's global variables.
func (c *Context) builtin(name string) (string, bool) {
	switch name {
	case "__from":
		return strconv.FormatInt(c.From.UnixMilli(), 10), true
	case "__to":
		return strconv.FormatInt(c.To.UnixMilli(), 10), true
	case "__interval":
		return intervalText(c.interval()), true
	case "__interval_ms":
		return strconv.FormatInt(c.interval().Milliseconds(), 10), true
	case "__range_s":
		return strconv.FormatInt(int64(c.To.Sub(c.From)/time.Second), 10), true
	}
	return "", false
}

// interval is the panel interval, at least a millisecond.
func (c *Context) interval() time.Duration {
	return max(c.Interval, time.Millisecond)
}

// intervalText writes an interval as Grafana does: the largest whole unit.
func intervalText(d time.Duration) string {
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	for _, u := range units {
		if d >= u.d && d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// formatValues formats a variable's values. list is true when Grafana holds
// the value as an array (multi-value or All). With no format, the ClickHouse
// plugin's formatter applies: a list becomes 'a','b' (values not escaped),
// a single value is inserted as is.
func formatValues(values []string, list bool, format string) (string, error) {
	quote := func(open, close string, esc func(string) string) string {
		parts := make([]string, len(values))
		for i, v := range values {
			parts[i] = open + esc(v) + close
		}
		return strings.Join(parts, ",")
	}
	switch format {
	case "":
		if !list {
			return strings.Join(values, ","), nil
		}
		return "'" + strings.Join(values, "','") + "'", nil
	case "raw", "csv":
		return strings.Join(values, ","), nil
	case "pipe":
		return strings.Join(values, "|"), nil
	case "text":
		return strings.Join(values, " + "), nil
	case "singlequote":
		return quote("'", "'", func(v string) string { return strings.ReplaceAll(v, "'", `\'`) }), nil
	case "doublequote":
		return quote(`"`, `"`, func(v string) string { return strings.ReplaceAll(v, `"`, `\"`) }), nil
	case "sqlstring":
		return quote("'", "'", func(v string) string { return strings.ReplaceAll(v, "'", "''") }), nil
	}
	return "", fmt.Errorf("unknown variable format %q (want raw, csv, pipe, text, singlequote, doublequote or sqlstring)", format)
}
