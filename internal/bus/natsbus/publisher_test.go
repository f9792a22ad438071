package natsbus

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mcptrail/mcptrail/internal/bus"
	"github.com/mcptrail/mcptrail/internal/bus/natsserver"
)

func TestAckError(t *testing.T) {
	tests := []struct {
		ack  string
		want string // substring of the error; empty: stored
	}{
		{`{"stream":"t-capture","seq":12}`, ""},
		{`{"stream":"t","seq":3,"duplicate":true}`, ""},
		{`{"stream":"t","domain":"hub","seq":1}`, ""},
		{`{"stream":"error","seq":1}`, ""}, // decoded in full, still stored
		{`{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"t","seq":0}`,
			"JetStream refused the record: maximum messages exceeded (code 503, error code 10077)"},
		{`{"seq":1}`, "invalid publish acknowledgement"},
		{`not json`, "invalid publish acknowledgement"},
		{``, "invalid publish acknowledgement"},
	}
	for _, tt := range tests {
		err := ackError([]byte(tt.ack))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ackError(%s): %v, want nil", tt.ack, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("ackError(%s): %v, want an error with %q", tt.ack, err, tt.want)
		}
	}
}

// TestPublishNoStream checks that a record no stream takes fails, after the
// retries, instead of waiting for the acknowledgement timeout.
func TestPublishNoStream(t *testing.T) {
	ts := startServer(t, natsserver.Config{})
	topic := testTopic("nostream")
	b := ts.open(t, bus.Config{Topic: topic, Partitions: 2})
	ctx := testCtx(t, 20*time.Second)
	js, err := jetstream.New(b.(*natsBus).nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, stream := range b.(*natsBus).layout.streams {
		if err := js.DeleteStream(ctx, stream); err != nil {
			t.Fatal(err)
		}
	}
	p, err := b.Publisher(ctx, bus.PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	start := time.Now()
	if err := p.Publish(ctx, msg("k", "v"), func(err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no responders") || !strings.Contains(err.Error(), topic+".capture.") {
			t.Fatalf("done: %v, want a no-responders error naming the subject", err)
		}
		if d := time.Since(start); d < noResponderRetries*noResponderWait || d > publishAckTimeout {
			t.Errorf("failed after %v, want after %d retries %v apart", d, noResponderRetries, noResponderWait)
		}
	case <-ctx.Done():
		t.Fatal("done not called")
	}
	if err := p.Flush(ctx); err == nil {
		t.Error("Flush reported no failure")
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, msg("k", "v"), nil); err == nil || !strings.Contains(err.Error(), bus.ErrClosed.Error()) {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
}

// TestOpenRefusesOneStreamLayout checks that a bus holding the single
// capture stream of earlier builds is refused with a message that says
// what to do, instead of the server's subject-overlap error.
func TestOpenRefusesOneStreamLayout(t *testing.T) {
	ts := startServer(t, natsserver.Config{})
	topic := testTopic("onestream")
	ctx := testCtx(t, 20*time.Second)
	nc, err := nats.Connect(ts.addr(), nats.Token(ts.cfg.Token))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	l := newLayout(topic, bus.DefaultPartitions)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: l.oneStream, Subjects: l.subjects}); err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, bus.Config{Topic: topic, Servers: []string{ts.addr()}, Auth: bus.Auth{Token: ts.cfg.Token}})
	if err == nil {
		b.Close()
		t.Fatal("Open accepted a bus with the one-stream layout")
	}
	for _, want := range []string{l.oneStream, "earlier mcptrail builds", "nats stream rm"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open: %v; want it to say %q", err, want)
		}
	}
}
