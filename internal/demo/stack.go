package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Child process timeouts.
const (
	// stopTimeout is how long a child has to exit after SIGTERM before it
	// gets SIGKILL.
	stopTimeout = 10 * time.Second
	// waitDelay bounds how long Wait waits for a child's output pipes
	// after it exited (a grandchild may hold them open).
	waitDelay = 2 * time.Second
	// tailLines is how many of a child's last output lines an error shows.
	tailLines = 15
)

// stack runs the demo's children: the real mcptrail and
// mcptrail-collector binaries, the MCP servers and the chDB bridge. Each
// child runs in a process group of its own, so that the terminal's Ctrl-C
// reaches only the demo, which then stops the children in order: SIGTERM
// to the child's group (its id is the child's pid), SIGKILL after
// stopTimeout. A child that exits while the demo still needs it is a
// failure: died is closed and failures says which.
type stack struct {
	con    *console
	logDir string

	mu       sync.Mutex
	procs    []*proc
	failures []string
	died     chan struct{}
}

func newStack(con *console, logDir string) *stack {
	return &stack{con: con, logDir: logDir, died: make(chan struct{})}
}

// spec describes a child to start.
type spec struct {
	name string
	path string
	args []string
	// env is added to the demo's environment.
	env []string
	// quiet sends the child's output to its log file only; hide does so
	// for the lines it matches.
	quiet bool
	hide  *regexp.Regexp
	// ready, when set, is the output line that says the child is ready;
	// awaitReady returns its submatches.
	ready *regexp.Regexp
	// stdout, when set, receives the child's stdout lines instead of the
	// terminal (the detector's findings).
	stdout func(line string)
	// oneShot marks a command that is expected to exit (migrate, verify).
	oneShot bool
	// stdio leaves stdin and stdout to the caller (an MCP stdio
	// transport); only stderr is shown and logged.
	stdio bool
}

// proc is a started child.
type proc struct {
	name string
	cmd  *exec.Cmd
	// owned is false for a child whose Wait belongs to someone else (the
	// MCP SDK's command transport); released says that Wait returned.
	owned    bool
	released atomic.Bool
	stopping atomic.Bool
	done     chan struct{}
	err      error // Wait's result, once done is closed

	ready   chan []string
	readyRE *regexp.Regexp
	outs    []*lineWriter
	logFile *os.File

	mu   sync.Mutex
	tail []string
}

// logPath is where a child's output is kept.
func (s *stack) logPath(name string) string {
	return filepath.Join(s.logDir, strings.NewReplacer(" ", "-", "/", "-").Replace(name)+".log")
}

// command prepares (but does not start) a child: its own process group,
// output to its log file and, prefixed with its name, to the terminal.
func (s *stack) command(sp spec) (*proc, error) {
	f, err := os.OpenFile(s.logPath(sp.name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("log file of %s: %w", sp.name, err)
	}
	cmd := exec.Command(sp.path, sp.args...)
	cmd.Env = append(os.Environ(), sp.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = waitDelay
	p := &proc{name: sp.name, cmd: cmd, owned: true, done: make(chan struct{}), ready: make(chan []string, 1), readyRE: sp.ready, logFile: f}
	toTerminal := func(line string) {
		if !sp.quiet && (sp.hide == nil || !sp.hide.MatchString(line)) {
			s.con.line(sp.name, terse(line))
		}
	}
	stdout := &lineWriter{fn: func(line string) {
		p.see(line)
		if sp.stdout != nil {
			sp.stdout(line)
			return
		}
		toTerminal(line)
	}}
	stderr := &lineWriter{fn: func(line string) {
		p.see(line)
		toTerminal(line)
	}}
	cmd.Stderr = stderr
	p.outs = []*lineWriter{stderr}
	if !sp.stdio {
		cmd.Stdout = stdout
		p.outs = append(p.outs, stdout)
	}
	return p, nil
}

// see logs one output line, keeps it for error messages and checks it
// for the ready line.
func (p *proc) see(line string) {
	p.mu.Lock()
	fmt.Fprintln(p.logFile, line)
	p.tail = append(p.tail, line)
	if len(p.tail) > tailLines {
		p.tail = p.tail[len(p.tail)-tailLines:]
	}
	p.mu.Unlock()
	if p.readyRE != nil {
		if m := p.readyRE.FindStringSubmatch(line); m != nil {
			select {
			case p.ready <- m:
			default:
			}
		}
	}
}

// lastLines returns the child's last output lines, indented, for errors.
func (p *proc) lastLines() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tail) == 0 {
		return "  (no output)"
	}
	return "  " + strings.Join(p.tail, "\n  ")
}

// start starts a child described by sp and watches it: an exit the demo
// did not ask for is recorded as a failure.
func (s *stack) start(sp spec) (*proc, error) {
	p, err := s.command(sp)
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		p.logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", sp.name, sp.path, err)
	}
	s.add(p)
	go func() {
		p.err = p.cmd.Wait()
		for _, o := range p.outs {
			o.flush()
		}
		p.logFile.Close()
		close(p.done)
		if !p.stopping.Load() && !sp.oneShot {
			s.fail(fmt.Sprintf("%s exited unexpectedly (%v); last output:\n%s", p.name, exitText(p.err), p.lastLines()))
		}
	}()
	return p, nil
}

// adopt tracks a child that someone else started and waits for (the MCP
// SDK's command transport), so that it is stopped with the others if the
// demo ends before its session was closed.
func (s *stack) adopt(p *proc) {
	p.owned = false
	s.add(p)
}

// release marks an adopted child as waited for: its session is closed.
func (p *proc) release() {
	if p.released.Swap(true) {
		return
	}
	for _, o := range p.outs {
		o.flush()
	}
	p.logFile.Close()
}

func (s *stack) add(p *proc) {
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
}

func (s *stack) fail(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) == 0 {
		close(s.died)
	}
	s.failures = append(s.failures, msg)
	s.con.printf("FAILED: %s", msg)
}

// err returns the recorded failures as one error, or nil.
func (s *stack) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) == 0 {
		return nil
	}
	return errors.New(strings.Join(s.failures, "\n"))
}

// awaitReady waits for the child's ready line and returns its submatches.
func (p *proc) awaitReady(ctx context.Context, timeout time.Duration) ([]string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case m := <-p.ready:
		return m, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before it was ready (%v); last output:\n%s", p.name, exitText(p.err), p.lastLines())
	case <-t.C:
		return nil, fmt.Errorf("%s not ready after %v; last output:\n%s", p.name, timeout, p.lastLines())
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// wait waits for a one-shot child to exit and returns an error naming its
// exit status and last output when it failed.
func (p *proc) wait(ctx context.Context) error {
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.err != nil {
		return fmt.Errorf("%s failed (%v); last output:\n%s", p.name, exitText(p.err), p.lastLines())
	}
	return nil
}

// exitCode is the exit code of a finished child, or -1.
func (p *proc) exitCode() int {
	if p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// stop ends the child: SIGTERM to its process group, SIGKILL after
// stopTimeout. It returns once the child has exited (for a child whose
// Wait belongs to someone else, once the signals are sent).
func (p *proc) stop() {
	p.stopping.Store(true)
	if !p.owned {
		if !p.released.Load() && p.cmd.Process != nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		}
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// stopAll stops every child, the last started first.
func (s *stack) stopAll() {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
}

// exitText describes a Wait error for messages.
func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
