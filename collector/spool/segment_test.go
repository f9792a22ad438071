package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

func FuzzSegmentRead(f *testing.F) {
	var seg []byte
	for i, p := range []string{"", "a", `{"jsonrpc":"2.0","id":1}`, string(make([]byte, 300))} {
		seg = appendFrame(seg, []byte(p), int64(i+1)*1e9)
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add(append(bytes.Clone(seg), 0, 0, 0, 0))
	bad := bytes.Clone(seg)
	bad[20] ^= 1
	f.Add(bad)
	f.Add([]byte{})
	f.Add(make([]byte, 40))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})

	f.Fuzz(func(t *testing.T, data []byte) {
		fr := newFrameReader(bytes.NewReader(data))
		size := int64(len(data))
		var off int64
		var n int64
		for off < size {
			p, ts, next, err := fr.readFrame(off, size)
			if err != nil {
				if !errors.Is(err, errCorrupt) && !errors.Is(err, errIncomplete) {
					t.Fatalf("readFrame at %d: unexpected error %v", off, err)
				}
				break
			}
			// A returned record is a whole, CRC-valid frame of the input.
			if next != off+frameHeader+int64(len(p)) || next > size {
				t.Fatalf("frame at %d: next %d for a %d-byte payload in %d bytes", off, next, len(p), size)
			}
			frame := data[off:next]
			if got := binary.LittleEndian.Uint32(frame[0:4]); int(got) != len(p) {
				t.Fatalf("frame at %d: length field %d, payload %d", off, got, len(p))
			}
			crc := crc32.Checksum(append(bytes.Clone(frame[:12]), frame[frameHeader:]...), castagnoli)
			if crc != binary.LittleEndian.Uint32(frame[12:16]) {
				t.Fatalf("frame at %d returned with a bad checksum", off)
			}
			if !bytes.Equal(appendFrame(nil, p, ts), frame) {
				t.Fatalf("frame at %d does not re-encode to the input", off)
			}
			off = next
			n++
		}
		// Scanning agrees with reading frame by frame.
		res, err := scanFrames(newFrameReader(bytes.NewReader(data)), 0, size)
		if err != nil || res.end != off || res.records != n || (res.end < size) != (res.bad != nil) {
			t.Fatalf("scanFrames = %+v, %v; read %d frames up to %d", res, err, n, off)
		}
	})
}
