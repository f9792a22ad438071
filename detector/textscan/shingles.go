package textscan

import (
	"github.com/cespare/xxhash/v2"
)

// ShingleWords is the number of words in a shingle: runs of this many
// words shared by two texts are unlikely to be chance.
const ShingleWords = 8

// shingleBase is the odd multiplier of the polynomial that combines the
// words' hashes into a shingle's.
const shingleBase = 0x9e3779b97f4a7c15

// Shingles calls fn with the fingerprint of every run of ShingleWords
// consecutive words of s (words are runs of letters and digits, lower
// cased): a polynomial in the words' xxhash64, rolled from one run to the
// next. Texts shorter than that give one fingerprint of all their words if
// they have at least four, so short but specific values still count. The
// fingerprint of a run depends on its words only, not on what separates
// them or on the text around it.
func Shingles(s string, fn func(uint64)) {
	// top is shingleBase to the power ShingleWords-1: the weight of the
	// oldest word of a run.
	top := uint64(1)
	for range ShingleWords - 1 {
		top *= shingleBase
	}
	// words holds the hashes of the last ShingleWords words; h is their
	// polynomial, the oldest word's of the highest degree.
	var words [ShingleWords]uint64
	var h uint64
	var lower [64]byte
	n := 0
	for i := 0; i < len(s); {
		for i < len(s) && !shingleByte(s[i]) {
			i++
		}
		if i == len(s) {
			break
		}
		start, upper := i, false
		for ; i < len(s) && shingleByte(s[i]); i++ {
			upper = upper || s[i] >= 'A' && s[i] <= 'Z'
		}
		w := wordHash(s[start:i], upper, lower[:0])
		if n >= ShingleWords {
			h -= words[n%ShingleWords] * top
		}
		h = h*shingleBase + w
		words[n%ShingleWords] = w
		n++
		if n >= ShingleWords {
			fn(mixShingle(h, ShingleWords))
		}
	}
	if n >= 4 && n < ShingleWords {
		fn(mixShingle(h, n))
	}
}

// wordHash is the xxhash64 of word lower-cased (upper tells whether it
// has upper-case letters); buf is room to lower-case it.
func wordHash(word string, upper bool, buf []byte) uint64 {
	if !upper {
		return xxhash.Sum64String(word)
	}
	for k := 0; k < len(word); k++ {
		c := word[k]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return xxhash.Sum64(buf)
}

// mixShingle spreads the bits of a polynomial of n words' hashes.
func mixShingle(h uint64, n int) uint64 {
	h ^= uint64(n)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// shingleByte reports whether c is part of a word: an ASCII letter or
// digit, or a byte of a non-ASCII character.
func shingleByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
