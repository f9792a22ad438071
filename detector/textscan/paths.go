package textscan

import "strings"

// relativePath reports whether tok (trimmed of sentence punctuation, not
// starting with "/" or "~") reads as a relative file-system path rather
// than prose: only path characters, no "//", a letter somewhere, and
// either three or more "/"-separated names ("projects/billing/.env"), or
// two with a sign of a file or folder: a file extension ("notes/todo.md"),
// a dot-file (".ssh/config") or a trailing "/" ("shared/public/"). So
// "and/or", "TCP/IP", "2024/05/01" and "3/4" are not paths. A leading
// "./" or "../" makes any name a path.
func relativePath(tok string) bool {
	if len(tok) > 256 || strings.IndexByte(tok, '/') < 0 || strings.Contains(tok, "//") {
		return false
	}
	for k := 0; k < len(tok); k++ {
		if c := tok[k]; !(c == '/' || c == '.' || c == '-' || c == '_' || c == '+' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z') {
			return false
		}
	}
	rest, anchored := tok, false
	for {
		switch {
		case strings.HasPrefix(rest, "./"):
			rest, anchored = rest[2:], true
			continue
		case strings.HasPrefix(rest, "../"):
			rest, anchored = rest[3:], true
			continue
		}
		break
	}
	dir := strings.HasSuffix(rest, "/")
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" || !hasLetter(rest) {
		return false
	}
	slashes := strings.Count(rest, "/")
	switch {
	case anchored, slashes >= 2:
		return true
	case slashes == 1:
		first, last, _ := strings.Cut(rest, "/")
		return dir || isDotFile(first) || isDotFile(last) || hasFileExtension(last)
	}
	return false
}

// isDotFile reports whether name is a hidden file or folder name: a dot
// then a letter (".env", ".ssh"), not "." or "..".
func isDotFile(name string) bool {
	return len(name) >= 2 && name[0] == '.' && name[1]|0x20 >= 'a' && name[1]|0x20 <= 'z'
}

// hasFileExtension reports whether name ends in a file extension: one of
// fileExtensions, or two to five letters and digits with a letter, after
// a non-empty stem ("todo.md", "data.parquet"), so that "i.e" or "v1.2"
// are not file names.
func hasFileExtension(name string) bool {
	d := strings.LastIndexByte(name, '.')
	if d <= 0 || d == len(name)-1 {
		return false
	}
	ext := lowerASCII(name[d+1:])
	if fileExtensions[ext] {
		return true
	}
	if len(ext) < 2 || len(ext) > 5 || !hasLetter(ext) {
		return false
	}
	for k := 0; k < len(ext); k++ {
		if c := ext[k]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// dotFileName reports whether tok is a lower-case hidden file name on its
// own: ".env", ".npmrc", ".env.local" (".NET" is a word).
func dotFileName(tok string) bool {
	if !isDotFile(tok) {
		return false
	}
	for k := 1; k < len(tok); k++ {
		if c := tok[k]; !(c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
