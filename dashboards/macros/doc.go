// Package macros expands a Grafana panel query the way Grafana and its
// official ClickHouse data source (grafana-clickhouse-datasource) do before
// the SQL reaches ClickHouse, so that tests can run the dashboards' queries
// on the real engine.
//
// The expansion has three stages, in Grafana's order:
//
//  1. $__conditionalAll(condition, $var) (the plugin's frontend): the
//     condition, or 1=1 when $var is "All" or empty.
//  2. Template variables (Grafana's template service with the plugin's
//     formatter): $var, ${var}, ${var:format} and [[var]]. A multi-value or
//     include-All variable is a list and formats as 'a','b'; a single value is
//     inserted as is. "All" without a custom all value is every option; a
//     custom all value is inserted unformatted. Formats: raw, csv,
//     singlequote, doublequote, sqlstring, text. Built-in variables:
//     $__from, $__to (epoch milliseconds), $__interval, $__interval_ms.
//  3. Backend macros (the plugin's Go side): $__timeFilter(col),
//     $__timeFilter_ms(col), $__dateFilter(col), $__dateTimeFilter(d, t) and
//     its alias $__dt, $__fromTime, $__toTime, $__fromTime_ms, $__toTime_ms,
//     $__timeInterval(col), $__timeInterval_ms(col), $__interval_s.
//
// Stricter than the plugin on purpose: an unknown $__macro, a macro with the
// wrong number of arguments, a macro argument with parentheses (older plugin
// versions cut arguments at the first ")") and an undefined variable are
// errors, so a dashboard typo fails its test instead of reaching Grafana.
package macros
