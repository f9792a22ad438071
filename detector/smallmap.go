package detector

// smallMap is a map for the few entries most sessions hold (requests
// waiting for a response, things reported once): a slice searched one by
// one, which becomes a map past maxSmallMap entries. The zero value is an
// empty map.
type smallMap[K comparable, V any] struct {
	list []smallEntry[K, V]
	m    map[K]V
}

type smallEntry[K comparable, V any] struct {
	key K
	val V
}

// maxSmallMap bounds the entries a smallMap searches one by one.
const maxSmallMap = 16

// len is the number of entries.
func (sm *smallMap[K, V]) len() int {
	if sm.m != nil {
		return len(sm.m)
	}
	return len(sm.list)
}

// get returns the value of key, and whether there is one.
func (sm *smallMap[K, V]) get(key K) (V, bool) {
	if sm.m != nil {
		v, ok := sm.m[key]
		return v, ok
	}
	for i := range sm.list {
		if sm.list[i].key == key {
			return sm.list[i].val, true
		}
	}
	var zero V
	return zero, false
}

// put sets the value of key.
func (sm *smallMap[K, V]) put(key K, val V) {
	if sm.m != nil {
		sm.m[key] = val
		return
	}
	for i := range sm.list {
		if sm.list[i].key == key {
			sm.list[i].val = val
			return
		}
	}
	if len(sm.list) < maxSmallMap {
		sm.list = append(sm.list, smallEntry[K, V]{key, val})
		return
	}
	sm.m = make(map[K]V, 2*maxSmallMap)
	for _, e := range sm.list {
		sm.m[e.key] = e.val
	}
	sm.list = nil
	sm.m[key] = val
}

// take removes key and returns its value, and whether there was one.
func (sm *smallMap[K, V]) take(key K) (V, bool) {
	if sm.m != nil {
		v, ok := sm.m[key]
		delete(sm.m, key)
		return v, ok
	}
	for i := range sm.list {
		if sm.list[i].key == key {
			v := sm.list[i].val
			last := len(sm.list) - 1
			sm.list[i] = sm.list[last]
			sm.list[last] = smallEntry[K, V]{}
			sm.list = sm.list[:last]
			return v, true
		}
	}
	var zero V
	return zero, false
}
