package macros

import (
	"fmt"
	"time"
)

// AllValue is Grafana's value of a variable whose "All" option is selected.
const AllValue = "$__all"

// Variable is the current state of one dashboard template variable.
type Variable struct {
	// Name is the variable's name, without the $.
	Name string
	// Values are the selected values. For "All", leave it empty and set All.
	Values []string
	// Multi is true when the variable is multi-value or has an "All"
	// option: Grafana then hands the plugin a list, even of one value.
	Multi bool
	// All is true when the "All" option is selected.
	All bool
	// CustomAll is the variable's custom all value ("allValue"); empty means
	// "All" stands for every option.
	CustomAll string
	// Options are every value the variable offers ("All" excluded).
	Options []string
}

// current returns the value Grafana's $__conditionalAll looks at: the
// selection joined with commas, AllValue for "All".
func (v *Variable) current() string {
	if v.All {
		return AllValue
	}
	s := ""
	for i, x := range v.Values {
		if i > 0 {
			s += ","
		}
		s += x
	}
	return s
}

// Context is what a query is expanded with: the dashboard's time range,
// the panel's interval and the variables.
type Context struct {
	From, To time.Time
	// Interval is the panel's $__interval (Grafana derives it from the time
	// range and the panel width); at least one second is used.
	Interval time.Duration
	Vars     []Variable
}

// lookup returns the variable named name, or nil.
func (c *Context) lookup(name string) *Variable {
	for i := range c.Vars {
		if c.Vars[i].Name == name {
			return &c.Vars[i]
		}
	}
	return nil
}

// validate checks the time range.
func (c *Context) validate() error {
	if c.From.IsZero() || c.To.IsZero() {
		return fmt.Errorf("macros: the time range is not set")
	}
	if c.To.Before(c.From) {
		return fmt.Errorf("macros: the time range ends (%s) before it starts (%s)", c.To, c.From)
	}
	return nil
}

// Expand runs all three stages on a panel's SQL: conditional All, template
// variables, backend macros.
func Expand(sql string, c Context) (string, error) {
	if err := c.validate(); err != nil {
		return "", err
	}
	s, err := ConditionalAll(sql, c)
	if err != nil {
		return "", err
	}
	if s, err = Interpolate(s, c); err != nil {
		return "", err
	}
	return ExpandMacros(s, c)
}
