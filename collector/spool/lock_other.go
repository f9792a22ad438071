//go:build !unix

package spool

import (
	"errors"
	"os"
)

// lockDir is not available without flock: the spool refuses to open
// rather than risk two collectors sharing a directory.
func lockDir(dir string) (*os.File, error) {
	return nil, errors.New("spool: directory locking is only supported on unix")
}

func unlockDir(f *os.File) error { return nil }
