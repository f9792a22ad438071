// Package wrap runs an MCP stdio server as a child process and stands
// between it and the host: stdin, stdout and stderr are relayed byte for
// byte, signals are passed on, the child's exit code is returned, and every
// JSON-RPC line on stdin and stdout is tapped into capture records, in the
// order the lines were relayed: a request is recorded before its response.
package wrap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"

	"github.com/mcptrail/mcptrail/collector/capture"
	"github.com/mcptrail/mcptrail/collector/tap"
	"github.com/mcptrail/mcptrail/schemas"
)

// Config describes one wrapped server.
type Config struct {
	// Command is the server's command line: the program and its arguments.
	Command []string
	// Recorder receives the tapped messages.
	Recorder *capture.Recorder
	// Session is the MCP session id of this server process.
	Session string
	// MaxLineBytes is the longest JSON-RPC line captured; longer lines are
	// relayed but recorded only as parse errors. 0 means 64 MiB.
	MaxLineBytes int
	// Stdin, Stdout and Stderr are the host's side; nil means the
	// process's own.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Logger receives the wrapper's own messages (on stderr, never stdout,
	// which belongs to MCP).
	Logger *slog.Logger
}

// forwarded are the signals passed on to the child.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// Run starts the server and relays until it exits, then returns its exit
// code (128+N when a signal N ended it). The error is for failures of the
// wrapper itself, such as a command that cannot start.
func Run(ctx context.Context, cfg Config) (int, error) {
	if len(cfg.Command) == 0 {
		return 0, errors.New("wrap: no server command (give it after --)")
	}
	stdin, stdout, stderr := cfg.Stdin, cfg.Stdout, cfg.Stderr
	if stdin == nil {
		stdin = os.Stdin
	}
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}

	cmd := exec.Command(cfg.Command[0], cfg.Command[1:]...)
	cmd.Stderr = stderr // relayed byte for byte by the os/exec copier
	// The server gets a process group of its own and signals go to the
	// whole group: launchers such as npx and uvx run the real server as
	// their child, which must hear the signal too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	childIn, err := cmd.StdinPipe()
	if err != nil {
		return 0, fmt.Errorf("wrap: stdin pipe: %w", err)
	}
	childOut, err := cmd.StdoutPipe()
	if err != nil {
		return 0, fmt.Errorf("wrap: stdout pipe: %w", err)
	}
	taps, err := newTaps(cfg)
	if err != nil {
		return 0, err
	}
	c2s, s2c := taps.c2s, taps.s2c

	// A host that closes its end of stdout must not kill the wrapper (Go
	// exits on SIGPIPE from fd 1 unless asked for it): the write fails with
	// EPIPE instead, and the capture goes on. A handler, unlike ignoring
	// the signal, is not inherited by the server.
	pipes := make(chan os.Signal, 1)
	signal.Notify(pipes, syscall.SIGPIPE)
	defer signal.Stop(pipes)
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, forwarded...)
	defer func() {
		signal.Stop(signals) // no send after Stop returns, so closing is safe
		close(signals)
	}()
	if err := cmd.Start(); err != nil {
		taps.close()
		return 0, fmt.Errorf("wrap: start %s: %w", cfg.Command[0], err)
	}
	go func() {
		for sig := range signals {
			if err := syscall.Kill(-cmd.Process.Pid, sig.(syscall.Signal)); err != nil {
				_ = cmd.Process.Signal(sig)
			}
		}
	}()

	// Host -> server. When the host closes stdin, close the server's stdin
	// too: that is how an MCP client ends a stdio session. This relay may
	// still be blocked reading the host when the server exits; it is not
	// waited for.
	go func() {
		if _, err := tap.Relay(context.Background(), childIn, stdin, c2s); err != nil {
			log.Debug("wrap: client to server relay ended", "err", err)
		}
		_ = childIn.Close()
	}()
	// Server -> host, until the server closes its stdout.
	var out sync.WaitGroup
	out.Add(1)
	go func() {
		defer out.Done()
		if _, err := tap.Relay(context.Background(), stdout, childOut, s2c); err != nil {
			// The host went away. Keep reading, so the server never blocks on
			// a full pipe, and keep recording what it says: the audit log
			// shows what the server sent even when nobody received it.
			log.Debug("wrap: server to client relay ended", "err", err)
			_, _ = io.Copy(s2c, childOut)
		}
	}()
	out.Wait()
	waitErr := cmd.Wait()
	taps.close()
	cfg.Recorder.Forget(cfg.Session)

	var exit *exec.ExitError
	switch {
	case waitErr == nil:
		return 0, nil
	case errors.As(waitErr, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	return 0, fmt.Errorf("wrap: wait for %s: %w", cfg.Command[0], waitErr)
}

// sessionTaps are the taps of a session's two directions. They share one
// queue, so that the recorder gets the frames of both in the order the
// relays tapped them: a request before the answer to it.
type sessionTaps struct {
	queue    *tap.Queue
	c2s, s2c *tap.Tap
}

// newTaps returns the taps of cfg's session, recording what they frame.
// Their queue holds as much as two taps of their own would.
func newTaps(cfg Config) (*sessionTaps, error) {
	maxLine := cfg.MaxLineBytes
	switch {
	case maxLine < 0:
		return nil, fmt.Errorf("wrap: negative MaxLineBytes %d", maxLine)
	case maxLine == 0:
		maxLine = tap.DefaultMaxLine
	}
	q, err := tap.NewQueue(tap.QueueConfig{Len: 2 * tap.DefaultQueueLen, Bytes: 4 * int64(maxLine)})
	if err != nil {
		return nil, fmt.Errorf("wrap: %w", err)
	}
	st := &sessionTaps{queue: q}
	if st.c2s, err = newTap(cfg, q, schemas.ClientToServer); err == nil {
		st.s2c, err = newTap(cfg, q, schemas.ServerToClient)
	}
	if err != nil {
		st.close()
		return nil, err
	}
	return st, nil
}

// close ends both streams and waits until every frame was recorded.
func (st *sessionTaps) close() {
	for _, t := range []*tap.Tap{st.s2c, st.c2s} {
		if t != nil {
			_ = t.Close()
		}
	}
	_ = st.queue.Close()
}

// newTap returns a tap on q that records the frames of one direction.
func newTap(cfg Config, q *tap.Queue, dir schemas.Direction) (*tap.Tap, error) {
	rec, session := cfg.Recorder, cfg.Session
	t, err := tap.New(tap.Config{
		MaxLine: cfg.MaxLineBytes,
		Queue:   q,
		Handler: func(f tap.Frame) {
			switch {
			case f.Err == nil:
				rec.Message(session, dir, f.Data)
			case f.Data == nil:
				rec.NotJSON(session, dir, nil, int(f.Len), f.Err.Error())
			default:
				rec.NotJSON(session, dir, f.Data, int(f.Len), f.Err.Error())
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("wrap: %w", err)
	}
	return t, nil
}
