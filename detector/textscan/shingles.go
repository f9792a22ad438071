package textscan

import (
	"github.com/cespare/xxhash/v2"
)

// ShingleWords is the number of words in a shingle: runs of this many
// words shared by two texts are unlikely to be chance.
const ShingleWords = 8

// Shingles calls fn with the xxhash64 of every run of ShingleWords
// consecutive words of s (words are runs of letters and digits, lower
// cased). Texts shorter than that give one hash of all their words if they
// have at least four, so short but specific values still count.
func Shingles(s string, fn func(uint64)) {
	var words [ShingleWords][]byte
	var buf []byte
	n := 0
	emit := func(count int) {
		buf = buf[:0]
		for i := range count {
			buf = append(buf, words[(n-count+i)%ShingleWords]...)
			buf = append(buf, ' ')
		}
		fn(xxhash.Sum64(buf))
	}
	word := make([]byte, 0, 32)
	flush := func() {
		if len(word) == 0 {
			return
		}
		words[n%ShingleWords] = append(words[n%ShingleWords][:0], word...)
		n++
		word = word[:0]
		if n >= ShingleWords {
			emit(ShingleWords)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			word = append(word, c+32)
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c >= 0x80:
			word = append(word, c)
		default:
			flush()
		}
	}
	flush()
	if n >= 4 && n < ShingleWords {
		emit(n)
	}
}
