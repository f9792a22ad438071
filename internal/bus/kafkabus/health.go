package kafkabus

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

// probeInterval is how often a publisher checks that a broker accepts
// connections.
const probeInterval = 250 * time.Millisecond

// health tracks whether the brokers are reachable, so that Publish can fail
// at once with bus.ErrUnavailable instead of queueing while they are down.
// The bus is down after a produce failed with a network error or a probe
// could not connect to any broker; it is up again once a probe connects.
type health struct {
	servers []string

	mu      sync.Mutex
	down    bool
	lastErr error
	downCh  chan struct{} // closed while down
}

func newHealth(servers []string) *health {
	return &health{servers: servers, downCh: make(chan struct{})}
}

// isDown reports whether the brokers are known to be unreachable, and why.
func (h *health) isDown() (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down, h.lastErr
}

// wait returns a channel that is closed while the brokers are down.
func (h *health) wait() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.downCh
}

func (h *health) setDown(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastErr = err
	if !h.down {
		h.down = true
		close(h.downCh)
	}
}

func (h *health) setUp() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		h.down = false
		h.downCh = make(chan struct{})
	}
}

// probe runs until ctx ends, connecting to the brokers every probeInterval.
func (h *health) probe(ctx context.Context) {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := h.dial(ctx); err != nil {
			h.setDown(err)
		} else {
			h.setUp()
		}
	}
}

// dial connects to the brokers in turn until one accepts a TCP connection.
func (h *health) dial(ctx context.Context) error {
	var d net.Dialer
	var err error
	for _, s := range h.servers {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		var c net.Conn
		c, err = d.DialContext(dctx, "tcp", s)
		cancel()
		if err == nil {
			_ = c.Close()
			return nil
		}
	}
	return err
}

// isNetworkError reports whether err means the broker could not be reached.
func isNetworkError(err error) bool {
	var ne net.Error
	var ke kafka.Error
	switch {
	case err == nil:
		return false
	case errors.As(err, &ke):
		return ke == kafka.NetworkException
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return true
	case errors.As(err, &ne):
		return true
	}
	return false
}

// isRetriable reports whether producing again may succeed.
func isRetriable(err error) bool {
	var ke kafka.Error
	if errors.As(err, &ke) {
		return ke.Temporary()
	}
	return isNetworkError(err) || errors.Is(err, context.DeadlineExceeded)
}
