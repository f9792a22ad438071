package schemas

import "hash/maphash"

// stringCache hands out one string for the same bytes, so that the few
// hosts, clients, servers, transports and sessions of a capture stream
// are allocated once instead of for every record. It is direct-mapped: a
// slot keeps the last string that hashed to it, so its memory stays
// bounded whatever the stream holds. The zero value is ready to use.
type stringCache struct {
	seed  maphash.Seed
	slots *[stringCacheSlots]string
}

const (
	stringCacheSlots = 1024 // a power of two
	// stringCacheMaxLen: longer strings are rarely repeated.
	stringCacheMaxLen = 128
)

// get returns string(b), from the cache when the same bytes were seen
// before.
func (c *stringCache) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > stringCacheMaxLen {
		return string(b)
	}
	if c.slots == nil {
		c.seed, c.slots = maphash.MakeSeed(), new([stringCacheSlots]string)
	}
	slot := &c.slots[maphash.Bytes(c.seed, b)&(stringCacheSlots-1)]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}
