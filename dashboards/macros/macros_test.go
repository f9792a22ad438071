package macros

import (
	"strings"
	"testing"
	"time"
)

// testContext is a fixed range (2026-10-01 09:00 to 10:00 UTC), a 30 s
// interval and one variable of each kind.
func testContext() Context {
	from := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	return Context{
		From:     from,
		To:       from.Add(time.Hour),
		Interval: 30 * time.Second,
		Vars: []Variable{
			{Name: "host", Multi: true, Values: []string{"a", "b"}, Options: []string{"a", "b", "c"}},
			{Name: "one", Multi: true, Values: []string{"a"}, Options: []string{"a", "b"}},
			{Name: "server", Multi: true, All: true, Options: []string{"bank", "slack"}},
			{Name: "client", Multi: true, All: true, CustomAll: "'%'", Options: []string{"x"}},
			{Name: "session", Values: []string{"o'brien"}},
			{Name: "empty", Multi: true},
		},
	}
}

func TestConditionalAll(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"selection keeps the condition", "WHERE $__conditionalAll(host IN (${host}), $host)", "WHERE host IN (${host})"},
		{"All gives 1=1", "WHERE $__conditionalAll(server_name IN ($server), $server)", "WHERE 1=1"},
		{"braced variable", "WHERE $__conditionalAll(server_name IN ($server), ${server})", "WHERE 1=1"},
		{"empty selection gives 1=1", "WHERE $__conditionalAll(x IN ($empty), $empty)", "WHERE 1=1"},
		{"several, nested parentheses", "$__conditionalAll(f(a, b) IN ($host), $host) AND $__conditionalAll(s IN ($server), $server)", "f(a, b) IN ($host) AND 1=1"},
		{"no macro", "SELECT 1", "SELECT 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConditionalAll(tt.in, testContext())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestInterpolate(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"multi value is a quoted list", "host IN (${host})", "host IN ('a','b')"},
		{"plain $var", "host IN ($host)", "host IN ('a','b')"},
		{"one value of a multi variable is still a list", "x IN ($one)", "x IN ('a')"},
		{"All is every option", "s IN ($server)", "s IN ('bank','slack')"},
		{"custom all value unformatted", "c LIKE ${client}", "c LIKE '%'"},
		{"single value as is", "'$session'", "'o'brien'"},
		{"sqlstring escapes", "s = ${session:sqlstring}", "s = 'o''brien'"},
		{"singlequote escapes", "s = ${session:singlequote}", `s = 'o\'brien'`},
		{"sqlstring list", "h IN (${host:sqlstring})", "h IN ('a','b')"},
		{"csv", "${host:csv}", "a,b"},
		{"raw", "${host:raw}", "a,b"},
		{"doublequote", "${host:doublequote}", `"a","b"`},
		{"pipe", "${host:pipe}", "a|b"},
		{"brackets", "[[host]]", "'a','b'"},
		{"builtins", "$__from $__to ${__interval} $__interval_ms", "1790845200000 1790848800000 30s 30000"},
		{"macros are left alone", "$__timeFilter(ts) $__interval_s $__timeInterval_ms(ts)", "$__timeFilter(ts) $__interval_s $__timeInterval_ms(ts)"},
		{"dollar alone", "cost $ 5", "cost $ 5"},
		{"unterminated brace", "${host", "${host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Interpolate(tt.in, testContext())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestExpandMacros(t *testing.T) {
	// 2026-10-01 09:00 UTC = 1790845200
	tests := []struct {
		name, in, want string
	}{
		{"timeFilter", "WHERE $__timeFilter(ts)", "WHERE ts >= toDateTime(1790845200) AND ts <= toDateTime(1790848800)"},
		{"timeFilter_ms", "$__timeFilter_ms( ts )", "ts >= fromUnixTimestamp64Milli(1790845200000) AND ts <= fromUnixTimestamp64Milli(1790848800000)"},
		{"from and to", "$__fromTime, $__toTime", "toDateTime(1790845200), toDateTime(1790848800)"},
		{"from and to ms", "$__fromTime_ms,$__toTime_ms", "fromUnixTimestamp64Milli(1790845200000),fromUnixTimestamp64Milli(1790848800000)"},
		{"timeInterval", "$__timeInterval(ts) AS time", "toStartOfInterval(toDateTime(ts), INTERVAL 30 second) AS time"},
		{"timeInterval_ms", "$__timeInterval_ms(ts)", "toStartOfInterval(toDateTime64(ts, 3), INTERVAL 30000 millisecond)"},
		{"interval_s", "count() / $__interval_s", "count() / 30"},
		{"dateFilter", "$__dateFilter(d)", "d >= toDate('2026-10-01') AND d <= toDate('2026-10-01')"},
		{"dt", "$__dt(d, t)", "(d >= toDate('2026-10-01') AND d <= toDate('2026-10-01')) AND (t >= toDateTime(1790845200) AND t <= toDateTime(1790848800))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExpandMacros(tt.in, testContext())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestIntervalAtLeastOneSecond(t *testing.T) {
	c := testContext()
	c.Interval = 200 * time.Millisecond
	got, err := ExpandMacros("$__interval_s $__timeInterval(ts)", c)
	if err != nil {
		t.Fatal(err)
	}
	if want := "1 toStartOfInterval(toDateTime(ts), INTERVAL 1 second)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestExpand(t *testing.T) {
	in := "SELECT $__timeInterval(ts) AS time, count() FROM e WHERE $__timeFilter(ts) AND $__conditionalAll(host IN (${host:sqlstring}), $host) AND $__conditionalAll(server_name IN (${server}), $server) AND session = ${session:sqlstring} GROUP BY time"
	want := "SELECT toStartOfInterval(toDateTime(ts), INTERVAL 30 second) AS time, count() FROM e WHERE ts >= toDateTime(1790845200) AND ts <= toDateTime(1790848800) AND host IN ('a','b') AND 1=1 AND session = 'o''brien' GROUP BY time"
	got, err := Expand(in, testContext())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"unknown macro", "$__timeFiler(ts)", "unknown macro $__timeFiler"},
		{"missing argument", "$__timeFilter", "wants 1 arguments, got 0"},
		{"too many arguments", "$__timeFilter(a, b)", "wants 1 arguments, got 2"},
		{"nested parentheses", "$__timeFilter(toDateTime(ts))", "parentheses inside macro arguments"},
		{"unbalanced", "$__timeFilter(ts", "unbalanced"},
		{"undefined variable", "x = $nope", `undefined variable "nope"`},
		{"unknown format", "${host:json5}", `unknown variable format "json5"`},
		{"conditionalAll arity", "$__conditionalAll(a = 1)", "wants 2 arguments"},
		{"conditionalAll undefined variable", "$__conditionalAll(a IN ($x), $x)", `undefined variable "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Expand(tt.in, testContext())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	if _, err := Expand("SELECT 1", Context{}); err == nil {
		t.Error("no time range: want an error")
	}
}

func TestIntervalText(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "30s"}, {5 * time.Minute, "5m"}, {2 * time.Hour, "2h"},
		{24 * time.Hour, "1d"}, {90 * time.Second, "90s"}, {1500 * time.Millisecond, "1500ms"},
	}
	for _, tt := range tests {
		if got := intervalText(tt.d); got != tt.want {
			t.Errorf("intervalText(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
