// Package sink delivers a collector's capture lines: to a file (file:PATH),
// or to the bus through a disk spool that keeps them in order and survives
// a restart while the bus is down.
package sink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// fileFlushInterval bounds how long a written line may sit in the buffer.
const fileFlushInterval = 200 * time.Millisecond

// File appends capture lines to a file, one per line. The file is created
// with mode 0600 (captures can hold sensitive data) and its directory with
// 0700 when absent. Lines are buffered and flushed at least every 200 ms
// and on Close.
type File struct {
	path string
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	err  error // first write error; later writes fail with it
	stop chan struct{}
	done chan struct{}
}

// OpenFile opens path for appending.
func OpenFile(path string) (*File, error) {
	if path == "" {
		return nil, errors.New("sink: file sink needs a path (file:PATH)")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sink: create directory of %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sink: open %s: %w", path, err)
	}
	s := &File{path: path, f: f, w: bufio.NewWriterSize(f, 256<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go s.flushLoop()
	return s, nil
}

// Write appends line and a line break. The key is not stored: it is the
// line's session.
func (s *File) Write(_ string, line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(line); err != nil {
		s.err = fmt.Errorf("sink: write %s: %w", s.path, err)
		return s.err
	}
	if err := s.w.WriteByte('\n'); err != nil {
		s.err = fmt.Errorf("sink: write %s: %w", s.path, err)
		return s.err
	}
	return nil
}

func (s *File) flushLoop() {
	defer close(s.done)
	t := time.NewTicker(fileFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.mu.Lock()
			if s.err == nil && s.w.Buffered() > 0 {
				if err := s.w.Flush(); err != nil {
					s.err = fmt.Errorf("sink: write %s: %w", s.path, err)
				}
			}
			s.mu.Unlock()
		case <-s.stop:
			return
		}
	}
}

// Close flushes, syncs and closes the file.
func (s *File) Close(context.Context) error {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.err
	if ferr := s.w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("sink: write %s: %w", s.path, ferr)
	}
	if serr := s.f.Sync(); err == nil && serr != nil {
		err = fmt.Errorf("sink: sync %s: %w", s.path, serr)
	}
	if cerr := s.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("sink: close %s: %w", s.path, cerr)
	}
	return err
}
