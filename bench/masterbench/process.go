package masterbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// APIKey is the admin key the benchmark's masters accept; every client uses it.
const APIKey = "masterbench-key"

// ModuleRoot is the folder of the go.mod that dir belongs to.
func ModuleRoot(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", "GOMOD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("%s is not inside a Go module", dir)
	}
	return filepath.Dir(mod), nil
}

// BuildMaster builds ./cmd/ffrtmp-master of the module at root into dir with CGO_ENABLED=0
// (as it ships) and returns the binary's path.
func BuildMaster(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "ffrtmp-master")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/ffrtmp-master")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build ffrtmp-master with CGO_ENABLED=0: %w\n%s", err, out)
	}
	return bin, nil
}

// Master is a master child process.
type Master struct {
	URL string
	// StartTime is from exec to the API listening (opening the database and loading the
	// farm's queues are in it).
	StartTime time.Duration
	LogPath   string

	cmd  *exec.Cmd
	done chan struct{}
	err  error // exit status, once done is closed
}

// StartMaster runs bin on database db, logging to logPath, and waits until it listens. The
// master listens on 127.0.0.1 on a free port, with the rate limit, the per-IP connection cap
// (one load generator plays many clients), the metrics listener and the RTMP ingest off and
// fsync on (the master has no way to turn it off); extra flags follow.
func StartMaster(ctx context.Context, bin, db, logPath string, extra ...string) (*Master, error) {
	args := []string{"--listen", "127.0.0.1", "--port", "0", "--db", db, "--api-key", APIKey,
		"--rate-limit", "0", "--max-conns-per-ip", "0", "--metrics-addr", "", "--rtmp-port", "-1", "--webhook-secret", "masterbench",
		"--log-format", "json", "--shutdown-timeout", "5s"}
	args = append(args, extra...)
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	// Only the flags above configure it: no FFRTMP_MASTER_* or MASTER_API_KEY from here.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FFRTMP_MASTER_") && !strings.HasPrefix(kv, "MASTER_API_KEY=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	cmd.Stdout = logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	m := &Master{LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	listening := make(chan string, 1)
	go func() {
		// Copy the log, watching for the line that says where the API listens.
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			logf.Write(line)
			logf.Write([]byte{'\n'})
			if bytes.Contains(line, []byte(`"master listening"`)) {
				var l struct {
					URL string `json:"url"`
				}
				if json.Unmarshal(line, &l) == nil && l.URL != "" {
					select {
					case listening <- l.URL:
					default:
					}
				}
			}
		}
		_, _ = io.Copy(logf, stderr)
		m.err = cmd.Wait()
		logf.Close()
		close(m.done)
	}()
	select {
	case m.URL = <-listening:
		m.StartTime = time.Since(start)
		return m, nil
	case <-m.done:
		return nil, fmt.Errorf("master exited before listening (%v):\n%s", m.err, tail(logPath, 20))
	case <-ctx.Done():
		m.kill()
		return nil, ctx.Err()
	case <-time.After(5 * time.Minute):
		m.kill()
		return nil, fmt.Errorf("master did not listen within 5 minutes:\n%s", tail(logPath, 20))
	}
}

// Stop sends SIGTERM and waits for the master to exit (killing it after 20 s). It returns
// an error when the master did not exit cleanly.
func (m *Master) Stop() error {
	select {
	case <-m.done:
		return fmt.Errorf("master had exited already (%v):\n%s", m.err, tail(m.LogPath, 20))
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(20 * time.Second):
		m.kill()
		return fmt.Errorf("master did not stop within 20 s of SIGTERM; killed")
	}
	if m.err != nil {
		return fmt.Errorf("master exit: %v:\n%s", m.err, tail(m.LogPath, 20))
	}
	return nil
}

func (m *Master) kill() {
	_ = m.cmd.Process.Kill()
	<-m.done
}

// Kill sends SIGKILL (a crash: nothing is flushed or closed) and waits until the process is
// gone.
func (m *Master) Kill() { m.kill() }

// Exited reports whether the process has ended (killed, stopped or crashed).
func (m *Master) Exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// CPU is the master's CPU time so far (user + system).
func (m *Master) CPU() time.Duration { return procCPU(m.cmd.Process.Pid) }

// procCPU reads utime+stime of pid from /proc (0 when it cannot).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count fields after its closing paren.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const ticks = 100 // USER_HZ: 100 on every Linux the project targets
	return time.Duration(ut+st) * time.Second / ticks
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
