package cputime

import (
	"testing"
	"time"
)

func TestProcessCountsWork(t *testing.T) {
	before, err := Process()
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the process has used 50ms more CPU than before, or fail
	// after 5s of wall time: a Process that does not move never gets there.
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for {
		for i := range 1_000_000 {
			x += i
		}
		now, err := Process()
		if err != nil {
			t.Fatal(err)
		}
		if now-before >= 50*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time moved %v in 5s of spinning", now-before)
		}
	}
	_ = x
}
