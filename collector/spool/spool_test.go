package spool

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// quietLogger discards the spool's warnings in tests.
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func testOpen(t testing.TB, dir string, opts Options) *Spool {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func rec(i int) string { return fmt.Sprintf("record-%06d-%s", i, strings.Repeat("x", i%37)) }

func appendRange(t *testing.T, s *Spool, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := s.Append([]byte(rec(i))); err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
	}
}

// readAll reads every available record; it commits after each one when
// commit is set.
func readAll(t *testing.T, s *Spool, commit bool) []string {
	t.Helper()
	var got []string
	for {
		r, err := s.Next()
		if errors.Is(err, ErrEmpty) {
			return got
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		got = append(got, string(r.Data))
		if commit {
			if err := s.Commit(r.Pos); err != nil {
				t.Fatalf("Commit: %v", err)
			}
		}
	}
}

func want(from, to int) []string {
	var w []string
	for i := from; i < to; i++ {
		w = append(w, rec(i))
	}
	return w
}

func checkRecords(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("got %d records, want %d\ngot  %.300q\nwant %.300q", len(got), len(want), got, want)
	}
}

func TestFIFOAcrossSegments(t *testing.T) {
	for _, tc := range []struct {
		name       string
		segBytes   int64
		n          int
		minSegs    int
		fsync      FsyncMode
		commitEach bool
	}{
		{"one segment", 0, 200, 1, FsyncInterval, false},
		{"small segments", 256, 300, 20, FsyncInterval, false},
		{"segment per record", 1, 50, 50, FsyncAlways, true},
		{"small segments fsync never", 512, 300, 10, FsyncNever, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testOpen(t, t.TempDir(), Options{SegmentBytes: tc.segBytes, Fsync: tc.fsync})
			appendRange(t, s, 0, tc.n)
			st := s.Stats()
			if st.Segments < tc.minSegs || st.Records != int64(tc.n) {
				t.Fatalf("after appends: %d segments (want >= %d), %d records (want %d)", st.Segments, tc.minSegs, st.Records, tc.n)
			}
			checkRecords(t, readAll(t, s, tc.commitEach), want(0, tc.n))
			// Interleave appends and reads.
			appendRange(t, s, tc.n, tc.n+10)
			checkRecords(t, readAll(t, s, true), want(tc.n, tc.n+10))
			st = s.Stats()
			if st.Records != 0 || st.Bytes != 0 || st.Segments != 1 || !st.Oldest.IsZero() {
				t.Fatalf("after committing everything: %+v", st)
			}
			segs, _ := filepath.Glob(filepath.Join(s.Dir(), "*.seg"))
			if len(segs) != 1 {
				t.Fatalf("segment files left: %v", segs)
			}
		})
	}
}

func TestRestartResumesAfterCommit(t *testing.T) {
	const n = 120
	for _, tc := range []struct {
		name     string
		read     int // records read before the restart
		commit   int // of which committed
		segBytes int64
		fsync    FsyncMode
	}{
		{"nothing read", 0, 0, 400, FsyncInterval},
		{"read, nothing committed", 50, 0, 400, FsyncInterval},
		{"read more than committed", 90, 40, 400, FsyncInterval},
		{"all committed", n, n, 400, FsyncInterval},
		{"fsync always", 90, 77, 400, FsyncAlways},
		{"fsync never", 90, 77, 400, FsyncNever},
		{"one segment", 90, 33, 0, FsyncInterval},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{SegmentBytes: tc.segBytes, Fsync: tc.fsync}
			s := testOpen(t, dir, opts)
			appendRange(t, s, 0, n)
			var commitAt Position
			for i := range tc.read {
				r, err := s.Next()
				if err != nil {
					t.Fatalf("Next %d: %v", i, err)
				}
				if i < tc.commit {
					commitAt = r.Pos
				}
			}
			if tc.commit > 0 {
				if err := s.Commit(commitAt); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			s = testOpen(t, dir, opts)
			if got := s.Recovery(); got.Records != int64(n-tc.commit) || got.TornBytes != 0 {
				t.Fatalf("Recovery = %+v, want %d records", got, n-tc.commit)
			}
			if st := s.Stats(); st.Records != int64(n-tc.commit) || (tc.commit < n) == st.Oldest.IsZero() {
				t.Fatalf("Stats = %+v, want %d records", st, n-tc.commit)
			}
			appendRange(t, s, n, n+5)
			checkRecords(t, readAll(t, s, false), want(tc.commit, n+5))
		})
	}
}

// damage modifies the file at path.
type damage func(t *testing.T, path string)

func truncateBy(k int64) damage {
	return func(t *testing.T, path string) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, fi.Size()-k); err != nil {
			t.Fatal(err)
		}
	}
}

func appendBytes(b []byte) damage {
	return func(t *testing.T, path string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
	}
}

func flipByteAt(off int64) damage {
	return func(t *testing.T, path string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := []byte{0}
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 0x40
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
}

func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no segments in %s: %v", dir, err)
	}
	slices.Sort(segs)
	return segs[len(segs)-1]
}

func TestTornTail(t *testing.T) {
	const n = 10
	lastFrame := int64(len(rec(n-1)) + frameHeader)
	for _, tc := range []struct {
		name     string
		damage   damage
		wantRecs int   // intact records after reopening
		wantTorn int64 // bytes cut
	}{
		{"cut mid payload", truncateBy(5), n - 1, lastFrame - 5},
		{"cut mid header", truncateBy(lastFrame - 7), n - 1, 7},
		{"cut at frame boundary", truncateBy(lastFrame), n - 1, 0},
		{"zeros after the last frame", appendBytes(make([]byte, 100)), n, 100},
		{"half a header after", appendBytes([]byte{1, 0, 0}), n, 3},
		{"flipped byte in the second frame", flipByteAt(int64(len(rec(0))+frameHeader) + 3), 1, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := testOpen(t, dir, Options{})
			appendRange(t, s, 0, n)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, lastSegment(t, dir))

			s = testOpen(t, dir, Options{})
			rv := s.Recovery()
			if tc.wantTorn >= 0 && rv.TornBytes != tc.wantTorn {
				t.Fatalf("TornBytes = %d, want %d (%+v)", rv.TornBytes, tc.wantTorn, rv)
			}
			if tc.wantTorn != 0 && (rv.TornSegment == "" || s.Stats().TornBytes != rv.TornBytes) {
				t.Fatalf("torn tail not reported: %+v, %+v", rv, s.Stats())
			}
			if rv.Records != int64(tc.wantRecs) {
				t.Fatalf("Records = %d, want %d", rv.Records, tc.wantRecs)
			}
			// New records go after the intact ones.
			appendRange(t, s, 100, 103)
			checkRecords(t, readAll(t, s, false), append(want(0, tc.wantRecs), want(100, 103)...))
		})
	}
}

func TestCorruptSealedSegment(t *testing.T) {
	// Segments of about 4 records; a byte is flipped in the second
	// segment. Policy: the reader skips the rest of that segment,
	// reports the bytes, and goes on with the next segment.
	frame := func(i int) int64 { return int64(len(rec(i)) + frameHeader) }
	for _, tc := range []struct {
		name     string
		reopen   bool
		recInSeg int   // which record of segment 2 is damaged
		part     int64 // offset inside that frame
	}{
		{"payload, after reopen", true, 1, frameHeader + 3},
		{"length, after reopen", true, 0, 1},
		{"checksum, same process", false, 2, 13},
		{"timestamp, same process", false, 0, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{SegmentBytes: 4 * frame(0)}
			s := testOpen(t, dir, opts)
			const n = 40
			appendRange(t, s, 0, n)
			// Find which records went to segment 2.
			var inSeg2 []int
			for i := range n {
				r, err := s.Next()
				if err != nil {
					t.Fatal(err)
				}
				if r.Pos.Segment == 2 {
					inSeg2 = append(inSeg2, i)
				}
			}
			s.Rewind()
			first := inSeg2[0]
			off := tc.part
			for i := first; i < first+tc.recInSeg; i++ {
				off += frame(i)
			}
			if tc.reopen {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			flipByteAt(off)(t, segPath(dir, 2))
			if tc.reopen {
				s = testOpen(t, dir, opts)
			}
			bad := first + tc.recInSeg
			last := inSeg2[len(inSeg2)-1]
			wantRecs := append(want(0, bad), want(last+1, n)...)
			checkRecords(t, readAll(t, s, false), wantRecs)
			var lost int64
			for i := bad; i <= last; i++ {
				lost += frame(i)
			}
			st := s.Stats()
			if st.CorruptBytes != lost || st.Corruptions != 1 {
				t.Fatalf("CorruptBytes %d, Corruptions %d; want %d, 1", st.CorruptBytes, st.Corruptions, lost)
			}
			// Reading again does not count the damage twice.
			s.Rewind()
			checkRecords(t, readAll(t, s, true), wantRecs)
			if st := s.Stats(); st.CorruptBytes != lost || st.Corruptions != 1 || st.Records != 0 {
				t.Fatalf("after a second read: %+v", st)
			}
		})
	}
}

func TestFull(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxBytes int64
		segBytes int64
	}{
		{"one segment", 2000, 0},
		{"many segments", 2000, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testOpen(t, t.TempDir(), Options{MaxBytes: tc.maxBytes, SegmentBytes: tc.segBytes})
			n := 0
			for ; ; n++ {
				err := s.Append([]byte(rec(n)))
				if errors.Is(err, ErrFull) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if n == 0 {
				t.Fatal("nothing fitted")
			}
			for range 3 {
				if err := s.Append([]byte(rec(n))); !errors.Is(err, ErrFull) {
					t.Fatalf("Append on a full spool: %v, want ErrFull", err)
				}
			}
			st := s.Stats()
			if st.Dropped != 4 || st.Bytes > tc.maxBytes || st.Records != int64(n) {
				t.Fatalf("Stats = %+v, want 4 dropped, %d records, <= %d bytes", st, n, tc.maxBytes)
			}
			// Earlier records stay readable; committing makes room.
			got := readAll(t, s, false)
			checkRecords(t, got, want(0, n))
			r, _ := s.Peek()
			s.Rewind()
			half := n / 2
			for range half {
				r, _ = s.Next()
			}
			if err := s.Commit(r.Pos); err != nil {
				t.Fatal(err)
			}
			appendRange(t, s, n, n+half/2)
			checkRecords(t, readAll(t, s, false), want(half, n+half/2))
		})
	}
}

func TestTooLarge(t *testing.T) {
	s := testOpen(t, t.TempDir(), Options{MaxRecordBytes: 100})
	if err := s.Append(make([]byte, 101)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append: %v, want ErrTooLarge", err)
	}
	if err := s.Append(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
}

func TestLargeRecords(t *testing.T) {
	// Records larger than the read buffer and the segment size.
	s := testOpen(t, t.TempDir(), Options{SegmentBytes: 100 << 10})
	var w []string
	for i, size := range []int{10, 3 << 20, 70 << 10, 5, 200 << 10} {
		b := strings.Repeat(string(rune('a'+i)), size)
		w = append(w, b)
		if err := s.Append([]byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	checkRecords(t, readAll(t, s, true), w)
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	s := testOpen(t, dir, Options{})
	_, err := Open(dir, Options{Logger: quietLogger})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	for _, part := range []string{dir, "in use by another process", fmt.Sprintf("pid %d", os.Getpid())} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, Options{Logger: quietLogger})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

func TestIOErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(filepath.Join(file, "spool"), Options{Logger: quietLogger})
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("Open under a file: %v, want an error naming %s", err, file)
	}
}

func TestUnreadableStateRedelivers(t *testing.T) {
	dir := t.TempDir()
	s := testOpen(t, dir, Options{})
	appendRange(t, s, 0, 5)
	readAll(t, s, true)
	appendRange(t, s, 5, 8)
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, stateName), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = testOpen(t, dir, Options{})
	if s.Recovery().StateErr == nil {
		t.Fatal("StateErr not reported")
	}
	checkRecords(t, readAll(t, s, false), want(0, 8))
}
