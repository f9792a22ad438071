package textscan

import (
	"github.com/cespare/xxhash/v2"
)

// ShingleWords is the number of words in a shingle: runs of this many
// words shared by two texts are unlikely to be chance.
const ShingleWords = 8

// Shingles calls fn with the xxhash64 of every run of ShingleWords
// consecutive words of s (words are runs of letters and digits, lower
// cased), each word followed by a space. Texts shorter than that give one
// hash of all their words if they have at least four, so short but
// specific values still count.
func Shingles(s string, fn func(uint64)) {
	// words holds the words read so far, each followed by a space: a run
	// of words is one slice of it. starts are where the last ShingleWords
	// words start.
	words := make([]byte, 0, len(s)+1)
	var starts [ShingleWords]int
	n := 0
	for i := 0; i < len(s); {
		for i < len(s) && !shingleByte(s[i]) {
			i++
		}
		if i == len(s) {
			break
		}
		starts[n%ShingleWords] = len(words)
		for ; i < len(s) && shingleByte(s[i]); i++ {
			c := s[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			words = append(words, c)
		}
		words = append(words, ' ')
		n++
		if n >= ShingleWords {
			fn(xxhash.Sum64(words[starts[n%ShingleWords]:]))
		}
	}
	if n >= 4 && n < ShingleWords {
		fn(xxhash.Sum64(words))
	}
}

// shingleByte reports whether c is part of a word: an ASCII letter or
// digit, or a byte of a non-ASCII character.
func shingleByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
