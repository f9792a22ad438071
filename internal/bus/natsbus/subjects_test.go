package natsbus

import (
	"slices"
	"testing"
)

func TestLayout(t *testing.T) {
	tests := []struct {
		topic      string
		partitions int
		streams    []string
		dlqStream  string
		subjects   []string
		dlqSubject string
	}{
		{"mcptrail-capture", 2, []string{"mcptrail-capture-p0", "mcptrail-capture-p1"}, "mcptrail-capture-dlq",
			[]string{"mcptrail-capture.capture.0", "mcptrail-capture.capture.1"}, "mcptrail-capture.dlq"},
		{"prod.capture v2*>", 1, []string{"prod_capture_v2__-p0"}, "prod_capture_v2__-dlq",
			[]string{"prod_capture_v2__.capture.0"}, "prod_capture_v2__.dlq"},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			l := newLayout(tt.topic, tt.partitions)
			if !slices.Equal(l.streams, tt.streams) || l.dlqStream != tt.dlqStream || l.dlqSubject != tt.dlqSubject || !slices.Equal(l.subjects, tt.subjects) {
				t.Errorf("newLayout(%q, %d) = %+v", tt.topic, tt.partitions, l)
			}
		})
	}
	if got, want := consumerName("my.group", 3), "my_group-p3"; got != want {
		t.Errorf("consumerName = %q, want %q", got, want)
	}
}
