// Package spool is the collector's durable, bounded, on-disk FIFO of
// capture records, used while the bus is unavailable.
//
// Records are appended to segment files (000000000001.seg, …) in a
// directory, each framed with its length, append time and a CRC-32C, and
// read back in append order by a cursor (Peek, Next). Commit marks records
// delivered; fully delivered segments are deleted and the committed
// position is persisted in state.json (temporary file, fsync, rename,
// fsync of the directory), so after a restart, crash included, reading
// resumes after the last persisted commit. Records read but not committed
// are read again: delivery is at least once and never out of order.
//
// Append never blocks on the disk bound: it returns ErrFull, and counts
// the drop, once the queued bytes would exceed Options.MaxBytes. It does
// not wait for fsync either under the default policy (FsyncInterval), in
// which a background goroutine fsyncs at most every 100 ms and Close
// fsyncs what is left; a crash loses at most that window of records.
//
// Damage policy. On Open, the last segment is checked frame by frame and
// cut at the first invalid frame (a torn write from a crash): Recovery
// reports the discarded bytes. A frame that fails its checksum anywhere
// else (a damaged sealed segment, bit rot) makes the reader skip the rest
// of that segment's readable bytes and go on with the next records: the
// skipped bytes and events are counted in Stats (CorruptBytes,
// Corruptions) and logged, so one damaged sector costs the records behind
// it in that segment, never the drain of the whole spool.
//
// One goroutine may append while another reads and commits; a directory
// is held by one Spool at a time (an exclusive flock on dir/LOCK).
// Drain publishes the spooled records in order with bounded in-flight
// publishes, committing only the contiguously acknowledged prefix.
package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Errors returned by the spool (wrapped; test with errors.Is).
var (
	// ErrFull: appending the record would exceed Options.MaxBytes. The
	// record was not spooled and is counted in Stats.Dropped.
	ErrFull = errors.New("spool full")
	// ErrEmpty: no record is available to read right now.
	ErrEmpty = errors.New("spool empty")
	// ErrClosed: the spool was closed.
	ErrClosed = errors.New("spool closed")
	// ErrTooLarge: the record exceeds Options.MaxRecordBytes.
	ErrTooLarge = errors.New("record too large for the spool")
	// ErrLocked: another process (or another Spool) holds the directory.
	ErrLocked = errors.New("spool directory locked")
)

// FsyncMode says when appended records and commits are fsynced.
type FsyncMode int

const (
	// FsyncInterval fsyncs in the background at most every
	// Options.FsyncInterval, and on Close. Append never waits for the disk.
	FsyncInterval FsyncMode = iota
	// FsyncAlways fsyncs in Append and Commit before they return.
	FsyncAlways
	// FsyncNever leaves flushing to the operating system; the committed
	// position is still written every FsyncInterval, without fsync.
	FsyncNever
)

// Defaults for Options.
const (
	DefaultSegmentBytes   = 16 << 20
	DefaultMaxBytes       = 256 << 20
	DefaultMaxRecordBytes = 8 << 20
	DefaultFsyncInterval  = 100 * time.Millisecond
)

// Options configure a Spool; zero fields take the defaults.
type Options struct {
	// SegmentBytes is the size at which a new segment file is started.
	SegmentBytes int64
	// MaxBytes bounds the queued (uncommitted) bytes, framing included.
	// The disk holds at most this plus one partly committed segment.
	MaxBytes int64
	// MaxRecordBytes bounds one record (at most 64 MiB).
	MaxRecordBytes int
	// Fsync is the fsync policy; the default is FsyncInterval.
	Fsync FsyncMode
	// FsyncInterval is the background fsync period (default 100 ms).
	FsyncInterval time.Duration
	// Logger receives warnings (damage found, background sync failures);
	// nil means slog.Default.
	Logger *slog.Logger
	// now is the clock, for tests.
	now func() time.Time
}

func (o *Options) setDefaults() error {
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.MaxRecordBytes > maxFrameLen {
		return fmt.Errorf("spool: MaxRecordBytes %d exceeds the limit %d", o.MaxRecordBytes, maxFrameLen)
	}
	if int64(o.MaxRecordBytes)+frameHeader > o.MaxBytes {
		o.MaxRecordBytes = int(o.MaxBytes - frameHeader)
	}
	if o.FsyncInterval <= 0 {
		o.FsyncInterval = DefaultFsyncInterval
	}
	if o.Fsync < FsyncInterval || o.Fsync > FsyncNever {
		return fmt.Errorf("spool: unknown fsync mode %d", o.Fsync)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.now == nil {
		o.now = time.Now
	}
	return nil
}

// Position is a place in the spool: the offset in a segment just after a
// record. Committing a record's Pos marks it and every earlier record
// delivered.
type Position struct {
	Segment uint64
	Offset  int64
	seq     uint64 // records since Open, for the record count
}

// before reports whether p is strictly before q.
func (p Position) before(q Position) bool {
	return p.Segment < q.Segment || p.Segment == q.Segment && p.Offset < q.Offset
}

// Record is one spooled record as read back.
type Record struct {
	// Data is the record; it is not reused by the spool.
	Data []byte
	// Time is when it was appended.
	Time time.Time
	// Pos is the position after the record, to pass to Commit.
	Pos Position
}

// Recovery is what Open found and repaired.
type Recovery struct {
	// Records is the number of records queued at Open.
	Records int64
	// TornBytes were cut from the end of the last segment: an incomplete
	// or invalid tail, typically a write torn by a crash.
	TornBytes int64
	// TornSegment is the file that was cut, if any.
	TornSegment string
	// StateErr is set when the state file could not be read; reading then
	// starts from the oldest segment (records may be delivered again).
	StateErr error
}

// Stats are the spool's counters, read with Spool.Stats.
type Stats struct {
	// Records and Bytes are queued (appended, not committed); Bytes
	// includes framing.
	Records int64
	Bytes   int64
	// DiskBytes is the size of the segment files; Segments their number.
	DiskBytes int64
	Segments  int
	// Appended counts records appended since Open.
	Appended uint64
	// Dropped counts records refused with ErrFull since Open.
	Dropped uint64
	// TornBytes were cut from the last segment at Open.
	TornBytes int64
	// CorruptBytes were skipped by the reader after checksum failures,
	// in Corruptions separate places, since Open.
	CorruptBytes int64
	Corruptions  int
	// SyncErrors counts failed background fsyncs or state writes.
	SyncErrors int
	// Oldest is the append time of the oldest queued record (zero when
	// the spool is empty or it is unknown).
	Oldest time.Time
}

// segInfo is one segment file: its id and the bytes readers may read.
type segInfo struct {
	id   uint64
	size int64
}

// Spool is a durable FIFO queue of records in a directory. One goroutine
// may call Append while another calls Peek, Next, Commit, Rewind and Wait;
// Stats is safe from any goroutine.
type Spool struct {
	dir  string
	opts Options
	lock *os.File

	wmu  sync.Mutex // serializes Append; guards wbuf
	wbuf []byte

	mu         sync.Mutex
	segs       []segInfo // oldest first; the last one is being appended to
	wf         *os.File  // the last segment, opened for appending
	sealNext   bool      // a write failed: start a new segment next
	retired    []*os.File
	commit     Position // delivered up to here
	records    int64
	diskBytes  int64
	oldest     int64 // append time of the first queued record, 0 = none/unknown
	dirty      bool  // appended since the last fsync
	dirDirty   bool  // segments created or removed since the last dir fsync
	stateDirty bool
	stats      Stats
	closed     bool
	recovery   Recovery

	stateMu sync.Mutex // serializes state file writes

	notify  chan struct{} // a token after each Append
	closing chan struct{}
	synced  chan struct{} // closed when the syncer goroutine ends

	// Reader side: used by the reading goroutine only.
	cursor Position
	peeked *Record
	rf     *os.File
	rseg   uint64
	fr     *frameReader
	// skippedTo is the end of the last damaged range counted, so a
	// Rewind over it does not count it twice.
	skippedTo Position
}

// Open opens (creating it if needed) the spool in dir, locks it, repairs a
// torn tail and positions the reader after the last persisted commit.
func Open(dir string, opts Options) (*Spool, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: create directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Spool{
		dir:     dir,
		opts:    opts,
		lock:    lock,
		notify:  make(chan struct{}, 1),
		closing: make(chan struct{}),
		synced:  make(chan struct{}),
		fr:      newFrameReader(nil),
	}
	if err := s.recover(); err != nil {
		s.closeFiles()
		unlockDir(lock)
		return nil, err
	}
	s.cursor = s.commit
	s.stats.TornBytes = s.recovery.TornBytes
	if opts.Fsync == FsyncAlways {
		close(s.synced)
	} else {
		go s.syncLoop()
	}
	return s, nil
}

// recover reads the state and the segments, cuts a torn tail, deletes
// segments that are wholly committed and opens the last one for writing.
func (s *Spool) recover() error {
	_ = os.Remove(filepath.Join(s.dir, stateTemp))
	commit, err := readState(s.dir)
	if err != nil {
		s.recovery.StateErr = err
		s.opts.Logger.Warn("spool: unreadable state, delivering from the oldest segment again", "dir", s.dir, "err", err)
		commit = Position{}
	}
	ids, err := listSegments(s.dir)
	if err != nil {
		return err
	}
	// Segments before the committed one are delivered: a crash came
	// between the state write and their removal.
	for len(ids) > 0 && ids[0] < commit.Segment {
		if err := os.Remove(segPath(s.dir, ids[0])); err != nil {
			return fmt.Errorf("spool: remove delivered segment: %w", err)
		}
		ids = ids[1:]
	}
	if len(ids) == 0 {
		id := commit.Segment + 1
		if err := s.createSegment(id); err != nil {
			return err
		}
		s.segs = []segInfo{{id: id}}
		s.commit = Position{Segment: id}
		return nil
	}
	if ids[0] != commit.Segment {
		commit = Position{Segment: ids[0]}
	}
	for i, id := range ids {
		path := segPath(s.dir, id)
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("spool: open segment: %w", err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return fmt.Errorf("spool: stat segment: %w", err)
		}
		size := fi.Size()
		from := int64(0)
		if i == 0 {
			from = min(commit.Offset, size)
			commit.Offset = from
		}
		s.fr.reset(f)
		res, err := scanFrames(s.fr, from, size)
		f.Close()
		s.fr.reset(nil)
		if err != nil {
			return fmt.Errorf("spool: scan segment %s: %w", path, err)
		}
		if s.oldest == 0 && res.records > 0 {
			s.oldest = res.firstTS
		}
		s.records += res.records
		if i == len(ids)-1 && res.end < size {
			if err := os.Truncate(path, res.end); err != nil {
				return fmt.Errorf("spool: cut torn tail: %w", err)
			}
			s.recovery.TornBytes = size - res.end
			s.recovery.TornSegment = path
			s.opts.Logger.Warn("spool: cut a torn or damaged tail", "segment", path, "bytes", size-res.end, "reason", res.bad)
			size = res.end
		}
		s.segs = append(s.segs, segInfo{id: id, size: size})
		s.diskBytes += size
	}
	s.commit = commit
	s.recovery.Records = s.records
	last := s.segs[len(s.segs)-1]
	path := segPath(s.dir, last.id)
	wf, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("spool: open segment for appending: %w", err)
	}
	if s.recovery.TornBytes > 0 {
		if err := wf.Sync(); err != nil {
			wf.Close()
			return fmt.Errorf("spool: sync segment %s: %w", path, err)
		}
	}
	s.wf = wf
	return nil
}

// createSegment creates segment id and makes it the one appended to. The
// caller holds mu (or is Open).
func (s *Spool) createSegment(id uint64) error {
	path := segPath(s.dir, id)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("spool: create segment: %w", err)
	}
	if s.wf != nil {
		s.retired = append(s.retired, s.wf)
	}
	s.wf = f
	s.dirDirty = true
	return nil
}

// Dir returns the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Recovery returns what Open found and repaired.
func (s *Spool) Recovery() Recovery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovery
}

// queuedBytes is the uncommitted bytes. The caller holds mu.
func (s *Spool) queuedBytes() int64 {
	q := s.diskBytes
	if len(s.segs) > 0 && s.segs[0].id == s.commit.Segment {
		q -= s.commit.Offset
	}
	return q
}

// Append adds rec at the end of the spool. It returns ErrFull, without
// blocking, when the queued bytes would exceed Options.MaxBytes, and
// ErrTooLarge for a record over Options.MaxRecordBytes. Under FsyncAlways
// it returns once the record is on disk; otherwise a crash may lose the
// records of the last fsync interval.
func (s *Spool) Append(rec []byte) error {
	if len(rec) > s.opts.MaxRecordBytes {
		return fmt.Errorf("spool %s: %d-byte record: %w", s.dir, len(rec), ErrTooLarge)
	}
	n := int64(len(rec)) + frameHeader
	s.wmu.Lock()
	defer s.wmu.Unlock()

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("spool %s: append: %w", s.dir, ErrClosed)
	}
	if s.queuedBytes()+n > s.opts.MaxBytes {
		s.stats.Dropped++
		s.mu.Unlock()
		return fmt.Errorf("spool %s: %d bytes queued: %w", s.dir, s.opts.MaxBytes, ErrFull)
	}
	last := &s.segs[len(s.segs)-1]
	if s.sealNext || last.size > 0 && last.size+n > s.opts.SegmentBytes {
		id := last.id + 1
		if err := s.createSegment(id); err != nil {
			s.mu.Unlock()
			return err
		}
		s.segs = append(s.segs, segInfo{id: id})
		s.sealNext = false
	}
	seg := s.segs[len(s.segs)-1].id
	wf := s.wf
	var retired []*os.File
	if s.opts.Fsync != FsyncInterval {
		retired, s.retired = s.retired, nil
	}
	s.mu.Unlock()

	// Segments left behind by a rotation: the background syncer closes
	// them under FsyncInterval; otherwise do it here.
	for _, f := range retired {
		if s.opts.Fsync == FsyncAlways {
			if err := f.Sync(); err != nil {
				s.opts.Logger.Warn("spool: sync segment", "file", f.Name(), "err", err)
			}
		}
		f.Close()
	}
	if len(retired) > 0 && s.opts.Fsync == FsyncAlways {
		if err := syncDir(s.dir); err != nil {
			return err
		}
	}

	ts := s.opts.now().UnixNano()
	s.wbuf = appendFrame(s.wbuf[:0], rec, ts)
	_, err := wf.Write(s.wbuf)
	if err == nil && s.opts.Fsync == FsyncAlways {
		err = wf.Sync()
	}
	if cap(s.wbuf) > 1<<20 {
		s.wbuf = nil // do not keep a buffer for a rare huge record
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// The segment may hold part of the frame: readers never read
		// past the size recorded below, and the next append starts a
		// new segment. (After a restart the garbage is skipped as damage.)
		s.sealNext = true
		return fmt.Errorf("spool: append to %s: %w", wf.Name(), err)
	}
	i := len(s.segs) - 1
	if s.segs[i].id != seg { // cannot happen: appends are serialized
		return fmt.Errorf("spool: internal error: segment %d changed during append", seg)
	}
	if s.queuedBytes() == 0 {
		s.oldest, s.records = ts, 0
	}
	s.segs[i].size += n
	s.diskBytes += n
	s.records++
	s.stats.Appended++
	s.dirty = s.opts.Fsync == FsyncInterval
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}

// Stats returns the spool's counters.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Records = max(s.records, 0)
	st.Bytes = s.queuedBytes()
	if st.Bytes == 0 {
		st.Records = 0
	}
	st.DiskBytes = s.diskBytes
	st.Segments = len(s.segs)
	if s.oldest != 0 && st.Bytes > 0 {
		st.Oldest = time.Unix(0, s.oldest)
	}
	return st
}

// syncLoop is the background syncer of FsyncInterval and FsyncNever.
func (s *Spool) syncLoop() {
	defer close(s.synced)
	t := time.NewTicker(s.opts.FsyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
			s.syncOnce()
		}
	}
}

// syncOnce fsyncs what was appended since the last time (per the policy),
// closes retired segments and writes the committed position if it moved.
func (s *Spool) syncOnce() {
	s.mu.Lock()
	wf, dirty, dirDirty, retired := s.wf, s.dirty, s.dirDirty, s.retired
	s.dirty, s.dirDirty, s.retired = false, false, nil
	stateDirty, commit := s.stateDirty, s.commit
	s.stateDirty = false
	s.mu.Unlock()

	doSync := s.opts.Fsync != FsyncNever
	var errs []error
	for _, f := range retired {
		if doSync {
			if err := f.Sync(); err != nil {
				errs = append(errs, fmt.Errorf("spool: sync %s: %w", f.Name(), err))
			}
		}
		f.Close()
	}
	if doSync && dirty && wf != nil {
		if err := wf.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("spool: sync %s: %w", wf.Name(), err))
		}
	}
	if doSync && dirDirty && !stateDirty {
		if err := syncDir(s.dir); err != nil {
			errs = append(errs, err)
		}
	}
	if stateDirty {
		if err := s.persist(commit, doSync); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		s.mu.Lock()
		s.stats.SyncErrors += len(errs)
		s.dirty = s.dirty || dirty
		s.stateDirty = s.stateDirty || stateDirty
		s.mu.Unlock()
		for _, err := range errs {
			s.opts.Logger.Warn("spool: background sync failed", "dir", s.dir, "err", err)
		}
	}
}

// persist writes the committed position to the state file.
func (s *Spool) persist(pos Position, sync bool) error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	return writeState(s.dir, pos, sync)
}

// Close fsyncs the segment being written and the committed position,
// closes the files and releases the directory lock. Appends and reads
// must have stopped.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.closing)
	<-s.synced

	s.wmu.Lock() // wait out an Append in progress
	defer s.wmu.Unlock()
	s.mu.Lock()
	commit := s.commit
	s.mu.Unlock()

	var errs []error
	doSync := s.opts.Fsync != FsyncNever
	if doSync && s.wf != nil {
		if err := s.wf.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("spool: sync %s: %w", s.wf.Name(), err))
		}
	}
	for _, f := range s.retired {
		if doSync {
			if err := f.Sync(); err != nil {
				errs = append(errs, fmt.Errorf("spool: sync %s: %w", f.Name(), err))
			}
		}
	}
	if err := s.persist(commit, doSync); err != nil {
		errs = append(errs, err)
	}
	s.closeFiles()
	if err := unlockDir(s.lock); err != nil {
		errs = append(errs, fmt.Errorf("spool: unlock %s: %w", s.dir, err))
	}
	return errors.Join(errs...)
}

// closeFiles closes every open file except the lock.
func (s *Spool) closeFiles() {
	for _, f := range slices.Concat(s.retired, []*os.File{s.wf, s.rf}) {
		if f != nil {
			f.Close()
		}
	}
	s.retired, s.wf, s.rf = nil, nil, nil
}
