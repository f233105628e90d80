package executor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ffrtmp/ffrtmp/api/redact"
)

// Command is how to start the child: normally the worker's own binary with its hidden
// executor subcommand.
type Command struct {
	Path string
	Args []string
	Env  []string // nil: the worker's environment
	Dir  string
}

// Options tune the supervision.
type Options struct {
	// StallTimeout kills a child that sent nothing for this long (default 60 s). The engine
	// reports progress every 500 ms, so silence means it is stuck.
	StallTimeout time.Duration
	// Grace is how long a canceled child gets to stop (and remove its partial outputs)
	// between SIGTERM and SIGKILL (default 2 s). The engine stops within about a second,
	// also when libav is stuck in a system call (it abandons the run then): the grace is
	// the backstop for a child that does not.
	Grace time.Duration
	// OnEvent receives the child's progress events as they come.
	OnEvent func(Event)
	// OnStart is told the child's process ID once it runs.
	OnStart func(pid int)
}

// How a run ended.
const (
	EndCompleted = "completed"
	EndFailed    = "failed"   // the engine reported an error
	EndCanceled  = "canceled" // the context ended
	EndStalled   = "stalled"  // no event within StallTimeout
	EndCrashed   = "crashed"  // the child died without a result (a signal or an unexpected exit)
)

// Outcome is how a run ended.
type Outcome struct {
	End     string
	Event   *Event // the result or error event, when one came
	Signal  string // the signal that ended a crashed child ("segmentation fault")
	Code    int    // the child's exit code (-1 after a signal)
	Stderr  string // the end of the child's stderr (libav's and Go's own words on a crash)
	Elapsed time.Duration
}

// Error describes an outcome that is not a success, for a job's failure report.
func (o Outcome) Error() string {
	switch o.End {
	case EndCompleted:
		return ""
	case EndFailed:
		if o.Event != nil && o.Event.Error != nil {
			return redact.Text(o.Event.Error.Message)
		}
		return "the executor failed without saying why"
	case EndCrashed:
		msg := fmt.Sprintf("the executor crashed (exit code %d)", o.Code)
		if o.Signal != "" {
			return "the executor crashed: " + o.Signal
		}
		if last := lastLine(o.Stderr); last != "" {
			msg += ": " + last
		}
		return msg
	case EndStalled:
		return "the executor made no progress and was killed"
	}
	return "canceled"
}

// Run runs req in a child started with cmd and supervises it until it ends. ctx ends the
// run (cancel, max run time); the child is then stopped with SIGTERM, and SIGKILL after the
// grace period.
func Run(ctx context.Context, cmd Command, req Request, opts Options) (Outcome, error) {
	opts = opts.withDefaults()
	ch, err := startChild(cmd, req)
	if err != nil {
		return Outcome{}, err
	}
	if opts.OnStart != nil {
		opts.OnStart(ch.c.Process.Pid)
	}
	final, end, readErr := ch.supervise(ctx, opts)
	return ch.wait(final, end, readErr), nil
}

// withDefaults fills in the options left zero.
func (o Options) withDefaults() Options {
	if o.StallTimeout <= 0 {
		o.StallTimeout = 60 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 2 * time.Second
	}
	return o
}

// child is a started executor process.
type child struct {
	c      *exec.Cmd
	stdout io.Reader
	stderr *tailBuffer
	start  time.Time
}

// startChild starts the executor with req on its stdin.
func startChild(cmd Command, req Request) (*child, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	c := exec.Command(cmd.Path, cmd.Args...)
	c.Env, c.Dir = cmd.Env, cmd.Dir
	c.Stdin = bytes.NewReader(body)
	stderr := &tailBuffer{max: 8 << 10}
	c.Stderr = stderr
	// Its own process group, so a terminal's Ctrl-C reaches the worker, which decides; and
	// killed with the worker, so a worker that dies (SIGKILL) leaves no orphan transcoding.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start executor %s: %w", cmd.Path, err)
	}
	return &child{c: c, stdout: stdout, stderr: stderr, start: start}, nil
}

// supervise streams the child's events to opts.OnEvent until its stdout closes, and stops
// the child when it stalls or ctx ends. It returns the result or error event (final), why
// the child was stopped (end, "" when it was not) and what went wrong reading its events.
func (ch *child) supervise(ctx context.Context, opts Options) (final *Event, end string, readErr error) {
	events := make(chan Event, 16)
	readDone := make(chan error, 1)
	go func() {
		defer close(events)
		readDone <- readEvents(ch.stdout, events)
	}()

	stall := time.NewTimer(opts.StallTimeout)
	defer stall.Stop()
	killed := false
	kill := func(why string) {
		if killed {
			return
		}
		killed, end = true, why
		_ = ch.c.Process.Signal(syscall.SIGTERM)
		time.AfterFunc(opts.Grace, func() { _ = ch.c.Process.Kill() })
	}
	done := ctx.Done()
	for events != nil {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				break
			}
			stall.Reset(opts.StallTimeout)
			switch ev.Type {
			case "result", "error":
				e := ev
				final = &e
			default:
				if opts.OnEvent != nil {
					opts.OnEvent(ev)
				}
			}
		case <-stall.C:
			kill(EndStalled)
		case <-done:
			done = nil
			kill(EndCanceled)
		}
	}
	// The reader sent its error before it closed events.
	return final, end, <-readDone
}

// wait waits for the child to exit and says how the run ended: end when the supervisor
// stopped it, else from the final event and the child's exit.
func (ch *child) wait(final *Event, end string, readErr error) Outcome {
	err := ch.c.Wait()
	out := Outcome{Event: final, Stderr: ch.stderr.String(), Elapsed: time.Since(ch.start), Code: ch.c.ProcessState.ExitCode()}
	if readErr != nil && end == "" && final == nil {
		out.Stderr += "\n" + readErr.Error()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			out.Signal = ws.Signal().String()
		}
	}
	if out.Signal == "" && out.Code != 0 {
		// The Go runtime in the child catches fatal signals, also those raised in libav or a
		// driver (cgo), prints them and exits 2: read the signal from what it printed.
		out.Signal = crashSignal(out.Stderr)
	}
	switch {
	case end != "":
		out.End = end
	case final != nil && final.Type == "result" && err == nil:
		out.End = EndCompleted
	case final != nil && final.Type == "error" && out.Code == ExitFailed:
		out.End = EndFailed
	default:
		out.End = EndCrashed
	}
	return out
}

// readEvents decodes the child's JSON lines; a line that is not an event is an error.
func readEvents(r io.Reader, events chan<- Event) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			_, _ = io.Copy(io.Discard, r)
			return fmt.Errorf("executor wrote something that is not an event: %q", clip(sc.Text(), 200))
		}
		events <- ev
	}
	return sc.Err()
}

// tailBuffer keeps the first head and the last max bytes written to it: a Go crash report
// names the signal at its start and the failing call near its end.
type tailBuffer struct {
	mu        sync.Mutex
	max       int
	first     []byte
	b         []byte
	truncated bool
}

const headBytes = 4 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	written := len(p)
	if n := min(len(p), headBytes-len(t.first)); n > 0 {
		t.first = append(t.first, p[:n]...)
		p = p[n:]
	}
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
		t.truncated = true
	}
	return written, nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.truncated {
		return string(t.first) + "\n…\n" + string(t.b)
	}
	return string(t.first) + string(t.b)
}

// Go's crash reports: "SIGSEGV: segmentation violation" (a signal sent to the process) or
// "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x7f…]" (a fault in C code).
var crashRe = regexp.MustCompile(`(?m)^\[?(?:signal )?(SIG[A-Z]+): ([a-z ]+?)(?: code=|$)`)

func crashSignal(stderr string) string {
	if m := crashRe.FindStringSubmatch(stderr); m != nil {
		return m[1] + ": " + strings.TrimSpace(m[2])
	}
	return ""
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "goroutine ") {
			return clip(redact.Text(l), 300) // libav's words may quote a URL with its secrets
		}
	}
	return ""
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
