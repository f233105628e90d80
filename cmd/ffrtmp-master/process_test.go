package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/syncbuf"
	"github.com/ffrtmp/ffrtmp/internal/testport"
)

// bin is the ffrtmp-master binary, built once by TestMain: the tests drive it as an operator
// would, as a child process with flags, environment, files and signals.
var bin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if err != nil || root == "." || strings.TrimSpace(string(gomod)) == os.DevNull {
		fmt.Fprintf(os.Stderr, "cannot find the module root with `go env GOMOD` (%q, %v)\n", gomod, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "ffrtmp-master-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "ffrtmp-master")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ffrtmp-master")
	build.Dir = root
	// The master must build without C; building it that way here keeps that true.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "CGO_ENABLED=0 go build ./cmd/ffrtmp-master: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// env is the environment a child master gets: the test's own, less anything that configures
// a master (so a developer's shell cannot change what a test sees), plus extra. The RTMP
// ingest takes a free port: masters of parallel tests cannot all have 1935.
func env(extra ...string) []string {
	out := []string{"FFRTMP_MASTER_RTMP_PORT=0"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "FFRTMP_MASTER_") || strings.HasPrefix(kv, "MASTER_API_KEY=") ||
			strings.HasPrefix(kv, "OTEL_") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

// quiet are the flags every started master gets unless a test is about them: loopback only,
// a port of its own, no metrics listener, no rate limit.
func quiet(db string, more ...string) []string {
	return append([]string{"--db", db, "--listen", "127.0.0.1", "--port", "0", "--metrics-addr", "", "--rate-limit", "0"}, more...)
}

// proc is a master child process.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncbuf.Buffer
	stdout *syncbuf.Buffer
	exited chan struct{}
	err    error // cmd.Wait's, once exited is closed

	// URL is the API's base URL, from the "master listening" log line.
	URL string
	// MetricsAddr is the metrics listener's address ("off" when there is none).
	MetricsAddr string
}

// launch starts the binary in dir and returns at once.
func launch(t *testing.T, dir string, environ []string, args ...string) *proc {
	t.Helper()
	p := &proc{stderr: &syncbuf.Buffer{}, stdout: &syncbuf.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = environ
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("ffrtmp-master %s\nstderr:\n%s", strings.Join(args, " "), p.stderr.String())
		}
	})
	return p
}

var listeningRe = regexp.MustCompile(`msg="master listening" url=(\S+) .*metrics=(\S+)`)

// startMaster starts the binary and waits until it serves: the "master listening" line is
// logged and /healthz answers 200.
func startMaster(t *testing.T, dir string, environ []string, args ...string) *proc {
	t.Helper()
	p := launch(t, dir, environ, args...)
	p.waitListening(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/healthz did not answer 200 within 30 s (last: %v)", p.URL, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitListening waits for the "master listening" log line and sets URL and MetricsAddr.
// It looks often, so that a test can act the moment the master says it is up.
func (p *proc) waitListening(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listeningRe.FindStringSubmatch(p.stderr.String()); m != nil {
			p.URL, p.MetricsAddr = m[1], m[2]
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("ffrtmp-master exited before it listened (%v):\n%s", p.err, p.stderr.String())
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("ffrtmp-master did not log \"master listening\" within 30 s:\n%s", p.stderr.String())
		}
	}
}

// signal sends sig to the process.
func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits up to limit for the process to exit and returns its state.
func (p *proc) wait(t *testing.T, limit time.Duration) *os.ProcessState {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState
	case <-time.After(limit):
		t.Fatalf("ffrtmp-master still running %s later:\n%s", limit, p.stderr.String())
		return nil
	}
}

// stop ends the process with SIGTERM and checks that it exits 0.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.signal(t, syscall.SIGTERM)
	if st := p.wait(t, 20*time.Second); st.ExitCode() != 0 {
		t.Fatalf("after SIGTERM: %v, want exit status 0\n%s", st, p.stderr.String())
	}
}

// waitLog waits until the process's stderr holds want n times.
func (p *proc) waitLog(t *testing.T, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(p.stderr.String(), want) < n {
		select {
		case <-p.exited:
			t.Fatalf("ffrtmp-master ended (%v) before it said %q %d times:\n%s", p.err, want, n, p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("stderr does not say %q %d times within 15 s:\n%s", want, n, p.stderr.String())
		}
	}
}

// client is an API client for the process with key.
func (p *proc) client(t *testing.T, key string) *api.Client {
	t.Helper()
	c, err := api.NewClient(p.URL, key, api.WithTimeout(15*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run runs the binary to its end (at most a minute) and returns stdout, stderr and the exit
// code.
func run(t *testing.T, dir string, environ []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = environ
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("ffrtmp-master %v still running after a minute:\n%s", args, stderr.String())
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run ffrtmp-master %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// freePort returns a TCP port nobody listened on a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	return testport.Free(t)
}

// writeFile writes data to path through a temporary name and a rename, so a master that
// reads the file meanwhile sees the old or the new content, never half of one.
func writeFile(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
