package macros

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// macro expands one backend macro with its (trimmed) arguments.
type macro struct {
	args   int // wanted number of arguments; -1: none and no parentheses needed
	expand func(c *Context, args []string) string
}

// backendMacros are the ClickHouse plugin's Go-side macros, by name.
func backendMacros() map[string]macro {
	return map[string]macro{
		"fromTime":    {-1, func(c *Context, _ []string) string { return dateTime(c.From) }},
		"toTime":      {-1, func(c *Context, _ []string) string { return dateTime(c.To) }},
		"fromTime_ms": {-1, func(c *Context, _ []string) string { return dateTime64(c.From) }},
		"toTime_ms":   {-1, func(c *Context, _ []string) string { return dateTime64(c.To) }},
		"interval_s":  {-1, func(c *Context, _ []string) string { return strconv.Itoa(c.intervalSeconds()) }},
		"timeFilter": {1, func(c *Context, a []string) string {
			return a[0] + " >= " + dateTime(c.From) + " AND " + a[0] + " <= " + dateTime(c.To)
		}},
		"timeFilter_ms": {1, func(c *Context, a []string) string {
			return a[0] + " >= " + dateTime64(c.From) + " AND " + a[0] + " <= " + dateTime64(c.To)
		}},
		"dateFilter": {1, func(c *Context, a []string) string {
			return a[0] + " >= " + date(c.From) + " AND " + a[0] + " <= " + date(c.To)
		}},
		"dateTimeFilter": {2, dateTimeFilter},
		"dt":             {2, dateTimeFilter},
		"timeInterval": {1, func(c *Context, a []string) string {
			return fmt.Sprintf("toStartOfInterval(toDateTime(%s), INTERVAL %d second)", a[0], c.intervalSeconds())
		}},
		"timeInterval_ms": {1, func(c *Context, a []string) string {
			return fmt.Sprintf("toStartOfInterval(toDateTime64(%s, 3), INTERVAL %d millisecond)", a[0], max(c.Interval.Milliseconds(), 1))
		}},
	}
}

func dateTimeFilter(c *Context, a []string) string {
	return "(" + a[0] + " >= " + date(c.From) + " AND " + a[0] + " <= " + date(c.To) + ") AND (" +
		a[1] + " >= " + dateTime(c.From) + " AND " + a[1] + " <= " + dateTime(c.To) + ")"
}

// intervalSeconds is the interval in whole seconds, at least 1.
func (c *Context) intervalSeconds() int {
	return max(int(c.Interval/time.Second), 1)
}

func date(t time.Time) string     { return "toDate('" + t.UTC().Format("2006-01-02") + "')" }
func dateTime(t time.Time) string { return "toDateTime(" + strconv.FormatInt(t.Unix(), 10) + ")" }
func dateTime64(t time.Time) string {
	return "fromUnixTimestamp64Milli(" + strconv.FormatInt(t.UnixMilli(), 10) + ")"
}

// ExpandMacros replaces the ClickHouse plugin's backend macros ($__name or
// $__name(args)) in sql. Unknown macros, wrong argument counts and
// arguments with parentheses are errors.
func ExpandMacros(sql string, c Context) (string, error) {
	if err := c.validate(); err != nil {
		return "", err
	}
	macros := backendMacros()
	var b strings.Builder
	for i := 0; i < len(sql); {
		if !strings.HasPrefix(sql[i:], "$__") {
			b.WriteByte(sql[i])
			i++
			continue
		}
		name := wordAt(sql, i+3)
		m, ok := macros[name]
		if !ok {
			return "", fmt.Errorf("macros: unknown macro $__%s in %q", name, clip(sql[i:]))
		}
		end := i + 3 + len(name)
		var args []string
		if end < len(sql) && sql[end] == '(' {
			raw, after, err := macroArgs(sql, end)
			if err != nil {
				return "", fmt.Errorf("macros: $__%s: %w", name, err)
			}
			if strings.ContainsAny(sql[end+1:after-1], "()") {
				return "", fmt.Errorf("macros: $__%s(%s): parentheses inside macro arguments are cut short by some plugin versions; use a column or alias", name, sql[end+1:after-1])
			}
			args, end = trimAll(raw), after
			if len(args) == 1 && args[0] == "" {
				args = nil
			}
		}
		want := max(m.args, 0)
		if len(args) != want {
			return "", fmt.Errorf("macros: $__%s wants %d arguments, got %d in %q", name, want, len(args), clip(sql[i:]))
		}
		b.WriteString(m.expand(&c, args))
		i = end
	}
	return b.String(), nil
}
