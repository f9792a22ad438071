package detector

// namesFilter keeps, per list of tool names (by its toolNamesHash), the
// names a question about one text kept: the text is shared by every
// session that meets it, and sessions of the same servers ask with the
// same names.
type namesFilter map[uint64][]string

// maxNameLists bounds the name lists a namesFilter keeps; past it the
// filter starts over.
const maxNameLists = 8

// filter returns the names, in their order, that keep accepts. namesHash
// is toolNamesHash(names); keep must give the same answer for the same
// name every time.
func (f *namesFilter) filter(names []string, namesHash uint64, keep func(string) bool) []string {
	if got, ok := (*f)[namesHash]; ok {
		return got
	}
	var out []string
	for _, name := range names {
		if keep(name) {
			out = append(out, name)
		}
	}
	if *f == nil || len(*f) >= maxNameLists {
		*f = make(namesFilter, 1)
	}
	(*f)[namesHash] = out
	return out
}
