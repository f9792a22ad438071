package processor

import (
	"encoding/binary"
	"math"

	"github.com/cespare/xxhash/v2"

	"github.com/mcptrail/mcptrail/schemas"
)

// EventID is the stable id of the event at batchIndex (-1 outside a batch)
// of rec: xxhash64 over the fields that identify a message, so that
// replaying the same records gives the same ids. A chained record is
// identified by its stream and seq; any other by its host, session, time,
// direction and the hash of its message (or of its HTTP and auth facts).
func EventID(rec *schemas.Record, batchIndex int) uint64 {
	var h xxhash.Digest
	h.Reset()
	var num [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(num[:], v)
		_, _ = h.Write(num[:])
	}
	str := func(s string) {
		put(uint64(len(s)))
		_, _ = h.WriteString(s)
	}
	if rec.Stream != "" && rec.Seq != 0 {
		str("chained")
		str(rec.Host)
		str(rec.Stream)
		put(rec.Seq)
	} else {
		str("unchained")
		str(rec.Host)
		str(rec.Session)
		put(uint64(rec.TS.UnixNano()))
		str(string(rec.Dir))
		switch {
		case len(rec.Msg) > 0:
			put(xxhash.Sum64(rec.Msg))
		case rec.ParseError != nil:
			str(rec.ParseError.Reason)
			put(uint64(rec.ParseError.Bytes))
		default:
			if rec.HTTP != nil {
				str(rec.HTTP.Method)
				str(rec.HTTP.Path)
				put(uint64(rec.HTTP.Status))
			}
			if rec.Auth != nil {
				str(string(rec.Auth.Type))
				str(rec.Auth.Endpoint)
			}
		}
	}
	put(uint64(int64(batchIndex) + math.MaxInt32)) // keeps -1 apart from 0
	return h.Sum64()
}
