package latency

import (
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	var s Samples
	if s.Quantile(0.5) != 0 {
		t.Error("empty samples")
	}
	for i := 100; i >= 1; i-- { // 1..100 ms, added out of order
		s.Add(time.Duration(i) * time.Millisecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0.001, time.Millisecond}}
	for _, tt := range tests {
		if got := s.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if s.Len() != 100 {
		t.Errorf("Len %d", s.Len())
	}
}
