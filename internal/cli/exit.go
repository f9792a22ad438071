package cli

import "fmt"

// Exit codes of the mcptrail commands.
const (
	// ExitFindings is returned when a command did its work and found the
	// input wanting (validate: bad lines).
	ExitFindings = 1
	// ExitFailure is returned for usage errors and failures (unreadable
	// input, unreachable services).
	ExitFailure = 2
)

// exitError carries the exit code a command wants; Main returns it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that the process exits with code.
func withCode(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}
