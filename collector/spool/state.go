package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

const (
	stateName = "state.json"
	stateTemp = "state.json.tmp"
)

// stateFile is the persisted committed position: every record before
// Offset in Segment, and every record of earlier segments, is delivered.
type stateFile struct {
	Version int    `json:"version"`
	Segment uint64 `json:"segment"`
	Offset  int64  `json:"offset"`
}

// readState returns the committed position stored in dir, the zero
// Position when there is none.
func readState(dir string) (Position, error) {
	path := filepath.Join(dir, stateName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Position{}, nil
	}
	if err != nil {
		return Position{}, fmt.Errorf("spool: read state %s: %w", path, err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return Position{}, fmt.Errorf("spool: decode state %s: %w", path, err)
	}
	if st.Version != 1 || st.Offset < 0 {
		return Position{}, fmt.Errorf("spool: state %s: unsupported version %d or bad offset %d", path, st.Version, st.Offset)
	}
	return Position{Segment: st.Segment, Offset: st.Offset}, nil
}

// writeState stores pos in dir atomically: write a temporary file, sync
// it, rename it over the state file, sync the directory. With sync false
// the two syncs are skipped (the rename is still atomic, but a crash may
// lose it).
func writeState(dir string, pos Position, sync bool) error {
	b, err := json.Marshal(stateFile{Version: 1, Segment: pos.Segment, Offset: pos.Offset})
	if err != nil {
		return fmt.Errorf("spool: encode state: %w", err)
	}
	tmp := filepath.Join(dir, stateTemp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("spool: write state: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool: write state %s: %w", tmp, err)
	}
	path := filepath.Join(dir, stateName)
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("spool: write state: %w", err)
	}
	if sync {
		return syncDir(dir)
	}
	return nil
}

// syncDir fsyncs the directory so created, renamed and removed entries
// survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool: sync directory %s: %w", dir, err)
	}
	return nil
}
