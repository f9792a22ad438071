package kafkatest

import (
	"fmt"
	"net"
	"testing"
)

func TestFreePorts(t *testing.T) {
	listen := func(t *testing.T, port int) {
		t.Helper()
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("port %d not free: %v", port, err)
		}
		_ = l.Close()
	}
	p, err := freePortPair()
	if err != nil {
		t.Fatal(err)
	}
	listen(t, p)
	listen(t, p+1)
	s, err := freePort(p, p+1)
	if err != nil {
		t.Fatal(err)
	}
	if s == p || s == p+1 {
		t.Fatalf("freePort(%d, %d) = %d", p, p+1, s)
	}
	listen(t, s)
}

func TestLastLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 5, "a\nb\nc"},
		{"", 3, ""},
	} {
		if got := lastLines([]byte(tc.in), tc.n); got != tc.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
