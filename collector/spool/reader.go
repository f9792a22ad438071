package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Peek returns the next record without moving the cursor, or ErrEmpty.
func (s *Spool) Peek() (Record, error) {
	if s.peeked != nil {
		return *s.peeked, nil
	}
	rec, err := s.read()
	if err != nil {
		return Record{}, err
	}
	s.peeked = &rec
	return rec, nil
}

// Next returns the next record and moves the cursor past it, or returns
// ErrEmpty when every appended record has been read. It does not block;
// see Wait.
func (s *Spool) Next() (Record, error) {
	rec, err := s.Peek()
	if err != nil {
		return Record{}, err
	}
	s.peeked = nil
	s.cursor = rec.Pos
	return rec, nil
}

// Rewind moves the cursor back to the committed position, so the records
// read since the last Commit are read again.
func (s *Spool) Rewind() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peeked = nil
	s.cursor = s.commit
}

// Wait blocks until a record can be read, ctx ends or the spool closes.
func (s *Spool) Wait(ctx context.Context) error {
	for {
		ok, err := s.available()
		if ok || err != nil {
			return err
		}
		select {
		case <-s.notify:
		case <-s.closing:
			return fmt.Errorf("spool %s: %w", s.dir, ErrClosed)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// available reports whether bytes lie beyond the cursor.
func (s *Spool) available() (bool, error) {
	if s.peeked != nil {
		return true, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, fmt.Errorf("spool %s: %w", s.dir, ErrClosed)
	}
	last := s.segs[len(s.segs)-1]
	return s.cursor.Segment < last.id || s.cursor.Offset < last.size, nil
}

// read returns the record at the cursor without moving it.
func (s *Spool) read() (Record, error) {
	cur := s.cursor
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return Record{}, fmt.Errorf("spool %s: read: %w", s.dir, ErrClosed)
		}
		i := 0
		for i < len(s.segs) && s.segs[i].id < cur.Segment {
			i++
		}
		if i == len(s.segs) { // cannot happen: the last segment is never removed
			s.mu.Unlock()
			return Record{}, fmt.Errorf("spool %s: internal error: segment %d missing", s.dir, cur.Segment)
		}
		if s.segs[i].id != cur.Segment { // removed once fully committed
			cur = Position{Segment: s.segs[i].id, seq: cur.seq}
		}
		limit := s.segs[i].size
		sealed := i < len(s.segs)-1
		s.mu.Unlock()

		if cur.Offset >= limit {
			if !sealed {
				return Record{}, ErrEmpty
			}
			cur = Position{Segment: cur.Segment + 1, seq: cur.seq}
			continue
		}
		if err := s.openReader(cur.Segment); err != nil {
			return Record{}, err
		}
		data, ts, next, err := s.fr.readFrame(cur.Offset, limit)
		if errors.Is(err, errCorrupt) || errors.Is(err, errIncomplete) {
			// Everything before limit was written whole, so an
			// incomplete frame is damage too. Skip to limit.
			s.skipped(cur, limit, err)
			cur.Offset = limit
			continue
		}
		if err != nil {
			return Record{}, fmt.Errorf("spool: read %s at %d: %w", s.rf.Name(), cur.Offset, err)
		}
		return Record{
			Data: data,
			Time: timeFromNanos(ts),
			Pos:  Position{Segment: cur.Segment, Offset: next, seq: cur.seq + 1},
		}, nil
	}
}

// skipped counts and logs a damaged range, once.
func (s *Spool) skipped(from Position, limit int64, why error) {
	end := Position{Segment: from.Segment, Offset: limit}
	if !s.skippedTo.before(end) {
		return
	}
	start := from.Offset
	if s.skippedTo.Segment == from.Segment && s.skippedTo.Offset > start {
		start = s.skippedTo.Offset
	}
	s.skippedTo = end
	s.mu.Lock()
	s.stats.CorruptBytes += limit - start
	s.stats.Corruptions++
	s.mu.Unlock()
	s.opts.Logger.Warn("spool: skipped damaged records", "segment", segPath(s.dir, from.Segment),
		"offset", from.Offset, "bytes", limit-start, "reason", why)
}

// openReader makes rf the file of segment id.
func (s *Spool) openReader(id uint64) error {
	if s.rf != nil && s.rseg == id {
		return nil
	}
	if s.rf != nil {
		s.rf.Close()
		s.rf = nil
	}
	f, err := os.Open(segPath(s.dir, id))
	if err != nil {
		return fmt.Errorf("spool: open segment for reading: %w", err)
	}
	s.rf, s.rseg = f, id
	s.fr.reset(f)
	return nil
}

// Commit marks every record up to pos (a Record.Pos) delivered. Segments
// wholly delivered are deleted; the position is persisted by the
// background syncer (at once under FsyncAlways, and by Close). Positions
// at or before the last commit are ignored; one past the cursor is an
// error.
func (s *Spool) Commit(pos Position) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("spool %s: commit: %w", s.dir, ErrClosed)
	}
	if !s.commit.before(pos) {
		s.mu.Unlock()
		return nil
	}
	if s.cursor.before(pos) {
		s.mu.Unlock()
		return fmt.Errorf("spool %s: commit at %d:%d past the read cursor %d:%d", s.dir, pos.Segment, pos.Offset, s.cursor.Segment, s.cursor.Offset)
	}
	s.records -= int64(pos.seq - s.commit.seq)
	s.commit = pos
	var remove []uint64
	for len(s.segs) > 1 {
		g := s.segs[0]
		if g.id < pos.Segment || g.id == pos.Segment && pos.Offset >= g.size {
			remove = append(remove, g.id)
			s.diskBytes -= g.size
			s.segs = s.segs[1:]
			continue
		}
		break
	}
	// Find the next record's time for Stats.Oldest.
	var next Position
	var limit int64
	if q := s.queuedBytes(); q == 0 {
		s.oldest, s.records = 0, 0
	} else {
		next = pos
		if s.segs[0].id != pos.Segment {
			next = Position{Segment: s.segs[0].id}
		}
		limit = s.segs[0].size
	}
	s.stateDirty = true
	if len(remove) > 0 {
		s.dirDirty = true
	}
	always := s.opts.Fsync == FsyncAlways
	s.mu.Unlock()

	var errs []error
	if next.Segment != 0 && limit > next.Offset {
		s.setOldest(next, limit)
	}
	for _, id := range remove {
		if s.rf != nil && s.rseg == id {
			s.rf.Close()
			s.rf = nil
		}
		if err := os.Remove(segPath(s.dir, id)); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("spool: remove delivered segment: %w", err))
		}
	}
	if always {
		s.mu.Lock()
		s.stateDirty = false
		s.mu.Unlock()
		if err := s.persist(pos, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// setOldest sets Stats.Oldest from the header of the record at p, when the
// reader's file is that segment (the usual case: the drainer commits what
// it has just read); otherwise the age is left unknown.
func (s *Spool) setOldest(p Position, limit int64) {
	var ts int64
	if s.rf != nil && s.rseg == p.Segment {
		if _, t, err := s.fr.header(p.Offset, limit); err == nil {
			ts = t
		}
	}
	s.mu.Lock()
	s.oldest = ts
	s.mu.Unlock()
}

// timeFromNanos converts a frame's timestamp.
func timeFromNanos(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
