package tap

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// chunkReader returns r's bytes in pseudo-random small and large reads.
type chunkReader struct {
	r   io.Reader
	rng *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	n := 1 + c.rng.IntN(8)
	switch c.rng.IntN(4) {
	case 0:
		n = 1 + c.rng.IntN(4096)
	case 1:
		n = len(p)
	}
	return c.r.Read(p[:min(n, len(p))])
}

// relayAll relays in through a tap in random chunks; it checks that the
// relayed bytes hash like the input and returns the frames.
func relayAll(t *testing.T, in []byte, maxLine int, seed uint64) []got {
	t.Helper()
	var frames []got
	tp, err := New(Config{Handler: func(f Frame) { frames = append(frames, toGot(f)) }, MaxLine: maxLine, QueueLen: 1 << 16, QueueBytes: int64(len(in)) + 1})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	src := &chunkReader{r: bytes.NewReader(in), rng: rand.New(rand.NewPCG(seed, 1))}
	n, err := Relay(context.Background(), h, src, tp)
	if err != nil || n != int64(len(in)) {
		t.Fatalf("Relay = %d, %v; want %d, nil", n, err, len(in))
	}
	tp.Close()
	if want := sha256.Sum256(in); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("relayed bytes differ from the input")
	}
	if d := tp.Dropped(); d != 0 {
		t.Fatalf("Dropped() = %d", d)
	}
	return frames
}

func TestRelayByteIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var in bytes.Buffer
	for i := range 2000 {
		switch rng.IntN(6) {
		case 0:
			in.WriteString("not json at all\n")
		case 1:
			in.WriteString("{\"bad\":\"\xc3\x28\"}\r\n")
		case 2:
			in.WriteString("\n")
		case 3:
			in.WriteString(`{"jsonrpc":"2.0","id":` + strings.Repeat("1", 1+i%9) + `,"result":{"x":"` + strings.Repeat("y", rng.IntN(5000)) + `"}}` + "\n")
		case 4:
			in.WriteString(`[1,2,3]` + "\r\n")
		default:
			b := make([]byte, rng.IntN(300))
			for j := range b {
				b[j] = byte(rng.IntN(256))
			}
			in.Write(b)
		}
	}
	want := reference(in.Bytes(), 4096)
	for seed := range uint64(5) {
		if d := diffFrames(want, relayAll(t, in.Bytes(), 4096, seed)); d != "" {
			t.Fatalf("seed %d: frames differ from reference: %s", seed, d)
		}
	}
}

func TestRelayHugeLines(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates about 200 MiB")
	}
	// A 32 MiB message kept under the default limit, then one of 65 MiB
	// reported as too long, then a small one.
	big := `{"jsonrpc":"2.0","id":1,"result":{"blob":"` + strings.Repeat("A", 32<<20) + `"}}`
	huge := `{"blob":"` + strings.Repeat("B", 65<<20) + `"}`
	in := []byte(big + "\n" + huge + "\r\n" + "{}\n")
	frames := relayAll(t, in, 0, 1)
	if len(frames) != 3 {
		t.Fatalf("got %d frames, want 3", len(frames))
	}
	if frames[0].Data != big || frames[0].Err != "" {
		t.Errorf("32 MiB frame: len %d err %q", frames[0].Len, frames[0].Err)
	}
	if frames[1].Data != "" || frames[1].Len != int64(len(huge)) || !strings.Contains(frames[1].Err, ErrTooLong.Error()) {
		t.Errorf("65 MiB frame: len %d err %q", frames[1].Len, frames[1].Err)
	}
	if frames[2].Data != "{}" || frames[2].Offset != int64(len(big)+len(huge)+3) {
		t.Errorf("last frame %v", frames[2])
	}
}

// stepWriter reports each write on a channel.
type stepWriter chan string

func (w stepWriter) Write(p []byte) (int, error) { w <- string(p); return len(p), nil }

func TestRelayIsPrompt(t *testing.T) {
	pr, pw := io.Pipe()
	dst := make(stepWriter, 10)
	frames := make(chan Frame, 10)
	tp, _ := New(Config{Handler: func(f Frame) { frames <- f }})
	done := make(chan error, 1)
	go func() { _, err := Relay(context.Background(), dst, pr, tp); done <- err }()
	for _, msg := range []string{`{"id":1}` + "\n", `{"id":2}` + "\n"} {
		pw.Write([]byte(msg))
		select {
		case got := <-dst:
			if got != msg {
				t.Fatalf("relayed %q, want %q", got, msg)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("message not relayed while the source stays open")
		}
		select {
		case f := <-frames:
			if string(f.Data)+"\n" != msg {
				t.Fatalf("frame %q, want %q", f.Data, msg)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("message not tapped while the source stays open")
		}
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tp.Close()
}

// flushCounter counts Flush calls of a bufio.Writer.
type flushCounter struct {
	*bufio.Writer
	n int
}

func (f *flushCounter) Flush() error { f.n++; return f.Writer.Flush() }

func TestRelayFlushes(t *testing.T) {
	var out bytes.Buffer
	fc := &flushCounter{Writer: bufio.NewWriter(&out)}
	src := &chunkReader{r: strings.NewReader("{}\n[]\n"), rng: rand.New(rand.NewPCG(1, 1))}
	if _, err := Relay(context.Background(), fc, src, nil); err != nil {
		t.Fatal(err)
	}
	if fc.n == 0 || out.String() != "{}\n[]\n" {
		t.Errorf("flushes %d, out %q", fc.n, out.String())
	}
}

func TestRelayCancel(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := Relay(ctx, io.Discard, pr, nil); done <- err }()
	pw.Write([]byte("{}\n"))
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Relay = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Relay did not stop on cancel")
	}
}

type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 1, errors.New("broken pipe") }

func TestRelayWriteError(t *testing.T) {
	var frames int
	tp, _ := New(Config{Handler: func(Frame) { frames++ }})
	n, err := Relay(context.Background(), failWriter{}, strings.NewReader("{}\n"), tp)
	tp.Close()
	if n != 1 || err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Fatalf("Relay = %d, %v", n, err)
	}
	// The tap records what the source sent, including the chunk whose
	// write failed.
	if s := tp.Stats(); s.Bytes != 3 || frames != 1 {
		t.Errorf("tap saw %d bytes and %d frames, want all 3 bytes read and the frame", s.Bytes, frames)
	}
}
