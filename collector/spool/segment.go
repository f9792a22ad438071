package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Frame layout, little endian:
//
//	[0:4]   payload length
//	[4:12]  append time, Unix nanoseconds
//	[12:16] CRC-32C of bytes [0:12] followed by the payload
//	[16:]   payload
//
// The checksum covers the length, so a flipped bit in the length is caught
// like one in the payload.
const (
	frameHeader = 16
	// maxFrameLen is the format's hard limit on a payload; a header that
	// claims more is corrupt.
	maxFrameLen = 64 << 20
	segSuffix   = ".seg"
	// readBufSize is the reader's buffer; larger records are read into
	// their own slice.
	readBufSize = 64 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	// errIncomplete: the frame extends past the readable end (a torn
	// write, or data not written yet).
	errIncomplete = errors.New("incomplete frame")
	// errCorrupt: the frame's checksum or length is wrong.
	errCorrupt = errors.New("corrupt frame")
)

// appendFrame appends the frame of payload, stamped ts, to dst.
func appendFrame(dst, payload []byte, ts int64) []byte {
	dst = slices.Grow(dst, frameHeader+len(payload))
	start := len(dst)
	dst = dst[:start+frameHeader]
	h := dst[start:]
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint64(h[4:12], uint64(ts))
	crc := crc32.Update(crc32.Update(0, castagnoli, h[:12]), castagnoli, payload)
	binary.LittleEndian.PutUint32(h[12:16], crc)
	return append(dst, payload...)
}

// frameReader reads frames from a segment through a small buffer, never
// past the limit the caller gives (the end of what the writer has
// completed), so it can follow a segment that is still being appended to.
type frameReader struct {
	r      io.ReaderAt
	mem    []byte // backing store of buf
	buf    []byte // file bytes [bufOff, bufOff+len(buf))
	bufOff int64
}

func newFrameReader(r io.ReaderAt) *frameReader {
	return &frameReader{r: r, mem: make([]byte, readBufSize)}
}

// reset points the reader at r and forgets the buffer.
func (fr *frameReader) reset(r io.ReaderAt) {
	fr.r, fr.buf, fr.bufOff = r, nil, 0
}

// bytesAt returns n bytes at off. The slice is the reader's buffer (valid
// until the next call) unless n exceeds it.
func (fr *frameReader) bytesAt(off int64, n int, limit int64) ([]byte, error) {
	if off >= fr.bufOff && off+int64(n) <= fr.bufOff+int64(len(fr.buf)) {
		i := off - fr.bufOff
		return fr.buf[i : i+int64(n)], nil
	}
	if off+int64(n) > limit {
		return nil, errIncomplete
	}
	if n > len(fr.mem) {
		b := make([]byte, n)
		m, err := fr.r.ReadAt(b, off)
		if m < n {
			if err == nil || errors.Is(err, io.EOF) {
				return nil, errIncomplete
			}
			return nil, err
		}
		return b, nil
	}
	want := min(int64(len(fr.mem)), limit-off)
	m, err := fr.r.ReadAt(fr.mem[:want], off)
	fr.buf, fr.bufOff = fr.mem[:m], off
	if m < n {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, errIncomplete
		}
		return nil, err
	}
	return fr.buf[:n], nil
}

// header reads the frame header at off: payload length and timestamp.
func (fr *frameReader) header(off, limit int64) (n int, ts int64, err error) {
	h, err := fr.bytesAt(off, frameHeader, limit)
	if err != nil {
		return 0, 0, err
	}
	return int(binary.LittleEndian.Uint32(h[0:4])), int64(binary.LittleEndian.Uint64(h[4:12])), nil
}

// readFrame reads the frame at off, reading nothing at or past limit. It
// returns a copy of the payload, the timestamp and the offset after the
// frame; errIncomplete when the frame runs past limit, errCorrupt when its
// length or checksum is wrong, or the read error.
func (fr *frameReader) readFrame(off, limit int64) (payload []byte, ts int64, next int64, err error) {
	h, err := fr.bytesAt(off, frameHeader, limit)
	if err != nil {
		return nil, 0, off, err
	}
	var hdr [frameHeader]byte
	copy(hdr[:], h)
	n := binary.LittleEndian.Uint32(hdr[0:4])
	if n > maxFrameLen {
		return nil, 0, off, errCorrupt
	}
	ts = int64(binary.LittleEndian.Uint64(hdr[4:12]))
	want := binary.LittleEndian.Uint32(hdr[12:16])
	next = off + frameHeader + int64(n)
	if next > limit {
		return nil, 0, off, errIncomplete
	}
	p, err := fr.bytesAt(off+frameHeader, int(n), limit)
	if err != nil {
		return nil, 0, off, err
	}
	if crc32.Update(crc32.Update(0, castagnoli, hdr[:12]), castagnoli, p) != want {
		return nil, 0, off, errCorrupt
	}
	if len(p) <= len(fr.mem) { // p aliases the buffer: copy it out
		p = append([]byte(nil), p...)
	}
	return p, ts, next, nil
}

// scanResult is what scanning a segment found.
type scanResult struct {
	end     int64 // offset after the last valid frame
	records int64 // valid frames from the start offset to end
	firstTS int64 // timestamp of the first valid frame, 0 if none
	bad     error // errIncomplete or errCorrupt if end < size
}

// scanFrames walks the valid frames of r from off up to size, checking
// every checksum, and stops at the first invalid one.
func scanFrames(fr *frameReader, off, size int64) (scanResult, error) {
	res := scanResult{end: off}
	for res.end < size {
		_, ts, next, err := fr.readFrame(res.end, size)
		if errors.Is(err, errIncomplete) || errors.Is(err, errCorrupt) {
			res.bad = err
			return res, nil
		}
		if err != nil {
			return res, err
		}
		if res.records == 0 {
			res.firstTS = ts
		}
		res.records++
		res.end = next
	}
	return res, nil
}

// segName is the file name of segment id.
func segName(id uint64) string { return fmt.Sprintf("%012d%s", id, segSuffix) }

// segPath is the path of segment id in dir.
func segPath(dir string, id uint64) string { return filepath.Join(dir, segName(id)) }

// listSegments returns the ids of the segment files in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: list %s: %w", dir, err)
	}
	var ids []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), segSuffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		id, err := strconv.ParseUint(name, 10, 64)
		if err != nil || id == 0 {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}
