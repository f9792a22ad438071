package detector

import (
	"fmt"
	"testing"
)

// TestSmallMap puts, replaces, gets and takes entries below and past the
// size at which a smallMap becomes a map, checking every answer against a
// map.
func TestSmallMap(t *testing.T) {
	for _, n := range []int{0, 1, maxSmallMap, maxSmallMap + 1, 4 * maxSmallMap} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var sm smallMap[pendingKey, int]
			want := map[pendingKey]int{}
			check := func(key pendingKey) {
				t.Helper()
				got, ok := sm.get(key)
				w, wok := want[key]
				if got != w || ok != wok {
					t.Fatalf("get(%v) = %d, %v; want %d, %v", key, got, ok, w, wok)
				}
			}
			for i := range n {
				for _, server := range []string{"a", "b"} {
					key := pendingKey{server, fmt.Sprint(i)}
					sm.put(key, i)
					want[key] = i
				}
			}
			if n > 0 { // a key again replaces its value
				sm.put(pendingKey{"a", "0"}, -1)
				want[pendingKey{"a", "0"}] = -1
			}
			if sm.len() != len(want) {
				t.Fatalf("len() = %d, want %d", sm.len(), len(want))
			}
			check(pendingKey{"c", "0"})
			for i := n - 1; i >= 0; i-- {
				for _, server := range []string{"b", "a"} {
					key := pendingKey{server, fmt.Sprint(i)}
					check(key)
					got, ok := sm.take(key)
					if w := want[key]; got != w || !ok {
						t.Fatalf("take(%v) = %d, %v; want %d, true", key, got, ok, w)
					}
					delete(want, key)
					if _, ok := sm.take(key); ok {
						t.Fatalf("second take(%v) found it", key)
					}
					if sm.len() != len(want) {
						t.Fatalf("len() = %d after take, want %d", sm.len(), len(want))
					}
				}
			}
		})
	}
}
