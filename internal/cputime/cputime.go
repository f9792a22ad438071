// Package cputime reads the CPU time the process has used, for benchmarks
// that report work per CPU second: on a shared machine it varies less than
// the wall time.
package cputime

import (
	"fmt"
	"syscall"
	"time"
)

// Process returns the user and system CPU time of the whole process (every
// goroutine, and servers running in it) so far.
func Process() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("cputime: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
