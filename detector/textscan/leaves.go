package textscan

import (
	"bytes"

	"github.com/go-json-experiment/json/jsontext"
)

// Leaf is one string in a JSON value: an object member's key path (dotted,
// array elements as their index) and the string.
type Leaf struct {
	Path string
	Text string
}

// AppendLeaves appends every string value in v (object keys excepted) to
// dst, with its path under prefix. Invalid JSON yields what was read before
// the error. Members with one name are all read: v is usually a part of a
// message whose parse rejected duplicate names already, and a value that
// was not checked keeps every string.
func AppendLeaves(dst []Leaf, v jsontext.Value, prefix string) []Leaf {
	if len(v) == 0 {
		return dst
	}
	// A bytes.Buffer is parsed in place, not copied.
	dec := jsontext.NewDecoder(bytes.NewBuffer(v), jsontext.AllowDuplicateNames(true))
	var stack []frame
	path := prefix
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return dst
		}
		kind := tok.Kind()
		// An object member's name comes as a string token where a name is due.
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantName {
			if kind == '}' {
				path = stack[n-1].path
				stack = stack[:n-1]
				endValue(stack, &path)
				continue
			}
			stack[n-1].wantName = false
			path = join(stack[n-1].path, tok.String())
			continue
		}
		switch kind {
		case '{':
			stack = append(stack, frame{object: true, wantName: true, path: path})
		case '[':
			stack = append(stack, frame{path: path})
			path = join(path, "0")
		case ']':
			path = stack[len(stack)-1].path
			stack = stack[:len(stack)-1]
			endValue(stack, &path)
		case '"':
			dst = append(dst, Leaf{Path: path, Text: tok.String()})
			endValue(stack, &path)
		default:
			endValue(stack, &path)
		}
	}
}

type frame struct {
	object   bool
	wantName bool
	index    int
	path     string
}

// endValue moves past one finished value in the innermost container.
func endValue(stack []frame, path *string) {
	if len(stack) == 0 {
		return
	}
	f := &stack[len(stack)-1]
	if f.object {
		f.wantName = true
		*path = f.path
		return
	}
	f.index++
	*path = join(f.path, itoa(f.index))
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}
