package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// runOutput collects a running process's output while the test reads it.
type runOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *runOutput) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *runOutput) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runProc is a running `ffrtmp run`.
type runProc struct {
	cmd    *exec.Cmd
	stderr *runOutput
	done   chan error
}

func startRun(t *testing.T, dir string, args ...string) *runProc {
	t.Helper()
	if !slices.Contains(args, "--rtmp-port") {
		args = append(args, "--rtmp-port", "0") // tests must not fight over 1935
	}
	if !slices.Contains(args, "--hls-port") {
		args = append(args, "--hls-port", "0") // nor over 8088
	}
	f := &runProc{cmd: exec.Command(bin, append([]string{"run"}, args...)...), stderr: &runOutput{}, done: make(chan error, 1)}
	f.cmd.Dir, f.cmd.Env = dir, isolatedEnv(dir)
	f.cmd.Stderr = f.stderr
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { f.done <- f.cmd.Wait() }()
	t.Cleanup(func() {
		if f.cmd.ProcessState == nil {
			_ = f.cmd.Process.Kill()
			<-f.done
		}
	})
	f.waitOutput(t, "Ctrl-C to stop")
	return f
}

// waitOutput waits until the farm has printed want.
func (f *runProc) waitOutput(t *testing.T, want string) {
	t.Helper()
	runWaitFor(t, 60*time.Second, "ffrtmp run to print "+want, func() bool {
		select {
		case err := <-f.done:
			t.Fatalf("ffrtmp run ended (%v):\n%s", err, f.stderr.String())
		default:
		}
		return strings.Contains(f.stderr.String(), want)
	})
}

// interrupt sends SIGINT and returns the exit code and how long the farm took to exit.
func (f *runProc) interrupt(t *testing.T, limit time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := f.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-f.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), time.Since(start)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, time.Since(start)
	case <-time.After(limit):
		_ = f.cmd.Process.Kill()
		t.Fatalf("ffrtmp run did not exit within %v of SIGINT:\n%s", limit, f.stderr.String())
		return -1, 0
	}
}

func runWaitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, limit)
		}
	}
}

func runWaitJob(t *testing.T, c *api.Client, id string, want ...api.Status) *api.Job {
	t.Helper()
	var j *api.Job
	runWaitFor(t, 90*time.Second, "job "+id+" to be "+string(want[0]), func() bool {
		var err error
		if j, err = c.GetJob(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if j.Status == api.StatusFailed && !slices.Contains(want, api.StatusFailed) {
			t.Fatalf("job %s failed: %+v", id, j.Error)
		}
		return slices.Contains(want, j.Status)
	})
	return j
}

// TestRunFarm drives `ffrtmp run` as a user does: it starts with no configuration, keeps a
// private key that the API accepts, registers its worker, runs a job in an executor of the
// ffrtmp binary, drains on SIGINT, and a second run in the same folder has the old jobs and
// the same key without printing it again.
func TestRunFarm(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	const drain = 3 * time.Second
	f := startRun(t, dir, "--port", port, "--drain-timeout", drain.String())
	data := filepath.Join(dir, dataDirName)
	url := "http://127.0.0.1:" + port

	b, err := os.ReadFile(filepath.Join(data, masterURLFile))
	if err != nil || strings.TrimSpace(string(b)) != url {
		t.Fatalf("%s = %q (%v), want %s", masterURLFile, b, err, url)
	}
	fi, err := os.Stat(filepath.Join(data, apiKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", apiKeyFile, fi.Mode().Perm())
	}
	b, _ = os.ReadFile(filepath.Join(data, apiKeyFile))
	key := strings.TrimSpace(string(b))
	if len(key) < 48 {
		t.Fatalf("API key %q is too short", key)
	}
	banner := f.stderr.String()
	for _, want := range []string{url, url + "/ui/", key, "ffrtmp jobs submit --scenario 720p30-h264 --output ffrtmp-data/out/first.mp4 --wait",
		"ffrtmp jobs list", "ffrtmp nodes list", filepath.Join(data, "out")} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}

	ctx := context.Background()
	c, err := api.NewClient(url, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListJobs(ctx, api.ListJobsOptions{}); err != nil {
		t.Fatalf("GET /v1/jobs with the kept key: %v", err)
	}
	wrong, _ := api.NewClient(url, "not-"+key)
	var ae *api.Error
	if _, err := wrong.ListJobs(ctx, api.ListJobsOptions{}); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Errorf("GET /v1/jobs with a wrong key: %v, want 401", err)
	}

	var node api.Node
	runWaitFor(t, 30*time.Second, "the worker to register", func() bool {
		nodes, err := c.ListNodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes.Nodes) == 1 {
			node = nodes.Nodes[0]
		}
		return len(nodes.Nodes) == 1
	})
	caps := node.Capabilities
	if caps.Slots != 1 || !slices.Contains(caps.Encoders, "libx264") || len(caps.Hardware) != 0 || len(caps.GPUs) != 0 {
		t.Errorf("worker capabilities %+v: want 1 slot, libx264, no hardware (no --gpu)", caps)
	}

	out := filepath.Join(data, "out", "first.mp4")
	j, err := c.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Parameters: &api.Parameters{Duration: 1}, Output: out}, "")
	if err != nil {
		t.Fatal(err)
	}
	runWaitJob(t, c, j.ID, api.StatusCompleted)
	if got := probeVideo(t, out); got != "h264x1280x720x30" {
		t.Errorf("output = %q, want h264x1280x720x30", got)
	}

	// A job still running at SIGINT gets the drain timeout, then goes back to the queue.
	long, err := c.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Parameters: &api.Parameters{Duration: 3600},
		Output: filepath.Join(data, "out", "long.mp4")}, "")
	if err != nil {
		t.Fatal(err)
	}
	runWaitJob(t, c, long.ID, api.StatusRunning)
	code, took := f.interrupt(t, drain+20*time.Second)
	if code != 0 {
		t.Fatalf("exit %d after SIGINT:\n%s", code, f.stderr.String())
	}
	t.Logf("stopped %v after SIGINT with a job running (drain timeout %v)", took, drain)
	if !strings.Contains(f.stderr.String(), "stopped;") {
		t.Errorf("no goodbye line:\n%s", f.stderr.String())
	}

	f2 := startRun(t, dir, "--port", port, "--drain-timeout", drain.String())
	if s := f2.stderr.String(); strings.Contains(s, key) || !strings.Contains(s, filepath.Join(dataDirName, apiKeyFile)) {
		t.Errorf("second run's banner shows the key, or does not say where it is:\n%s", s)
	}
	if got := runWaitJob(t, c, j.ID, api.StatusCompleted); got.Result == nil {
		t.Errorf("the old job lost its result: %+v", got)
	}
	if got, err := c.GetJob(ctx, long.ID); err != nil || got.Status == api.StatusFailed || got.Status == api.StatusCanceled {
		t.Errorf("the drained job: %+v, %v; want it back in the queue, not failed", got, err)
	}
	runWaitFor(t, 30*time.Second, "the worker to register again", func() bool {
		nodes, err := c.ListNodes(ctx)
		return err == nil && len(nodes.Nodes) == 1 && nodes.Nodes[0].ID == node.ID && nodes.Nodes[0].Status == api.NodeOnline
	})
	if code, _ := f2.interrupt(t, drain+20*time.Second); code != 0 {
		t.Fatalf("second run: exit %d after SIGINT:\n%s", code, f2.stderr.String())
	}
}

// TestRunDemo is `make run`: the demo job's progress, then where its ladder is.
func TestRunDemo(t *testing.T) {
	dir := t.TempDir()
	f := startRun(t, dir, "--port", freePort(t), "--demo")
	f.waitOutput(t, "demo: done")
	s := f.stderr.String()
	playlist := filepath.Join(dataDirName, "out", "demo", "master.m3u8")
	if !strings.Contains(s, "master playlist: "+playlist) || !strings.Contains(s, "fps") || !strings.Contains(s, "ETA") {
		t.Errorf("demo output:\n%s", s)
	}
	m, err := os.ReadFile(filepath.Join(dir, playlist))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"RESOLUTION=1920x1080", "RESOLUTION=1280x720", "RESOLUTION=854x480"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("master playlist lacks %s:\n%s", want, m)
		}
	}
	if code, _ := f.interrupt(t, 60*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGINT:\n%s", code, f.stderr.String())
	}
}

// runCLI runs the binary in dir with isolatedEnv(dir, env...) and returns stderr and the exit code.
func runCLI(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, isolatedEnv(dir, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return stderr.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("ffrtmp %v: %v", args, err)
	}
	return stderr.String(), 0
}

// TestRunUsage: mistakes are usage errors (exit 2) that say what to do, found before
// anything is created or bound.
func TestRunUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"public listen without TLS", []string{"--listen", "0.0.0.0"}, []string{"--listen 0.0.0.0", "--tls", "--cert and --key", "--insecure"}},
		{"all interfaces without TLS", []string{"--listen", ""}, []string{"--tls", "--insecure"}},
		{"cert without key", []string{"--cert", "c.pem"}, []string{"--cert c.pem given without --key"}},
		{"no slots", []string{"--slots", "0"}, []string{"--slots 0: want 1..256"}},
		{"bad port", []string{"--port", "70000"}, []string{"--port 70000"}},
		{"bad RTMP port", []string{"--rtmp-port", "-2"}, []string{"--rtmp-port -2", "-1 for no RTMP ingest"}},
		{"bad HLS port", []string{"--hls-port", "70000"}, []string{"--hls-port 70000", "-1 to serve no HLS"}},
		{"public RTMP without TLS", []string{"--rtmp-listen", "0.0.0.0"}, []string{"--rtmp-listen 0.0.0.0", "--tls", "--insecure"}},
		{"bad log level", []string{"--log-level", "loud"}, []string{"--log-level \"loud\""}},
		{"arguments", []string{"now"}, []string{"unknown command \"now\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			stderr, code := runCLI(t, dir, nil, append([]string{"run"}, tc.args...)...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr: %s", code, stderr)
			}
			for _, want := range tc.wants {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q lacks %q", stderr, want)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, dataDirName)); err == nil {
				t.Errorf("a refused run created %s", dataDirName)
			}
		})
	}
}

// TestRunConfigPrecedence: flags beat FFRTMP_RUN_*, which beats the config file's run:
// section (seen through the value a usage error names).
func TestRunConfigPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "ffrtmp", configFileName)
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		if err := os.WriteFile(conf, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("master: http://127.0.0.1:1\nrun:\n  slots: 300\n  drain-timeout: 5s\n")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"file", nil, nil, "--slots 300"},
		{"env over file", []string{"FFRTMP_RUN_SLOTS=400"}, nil, "--slots 400"},
		{"flag over env", []string{"FFRTMP_RUN_SLOTS=400"}, []string{"--slots", "500"}, "--slots 500"},
		{"env for a two-word flag", []string{"FFRTMP_RUN_DRAIN_TIMEOUT=-1s"}, []string{"--slots", "1"}, "--drain-timeout -1s"},
	} {
		stderr, code := runCLI(t, dir, tc.env, append([]string{"run"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tc.name, code, stderr, tc.want)
		}
	}
	write("run:\n  slot: 2\n")
	if stderr, code := runCLI(t, dir, nil, "run"); code != 2 || !strings.Contains(stderr, `unknown key "run.slot" (keys are the flag names, e.g. run.slots)`) {
		t.Errorf("unknown key: exit %d, stderr %q", code, stderr)
	}
	if stderr, code := runCLI(t, dir, nil, "run", "--config", filepath.Join(dir, "missing.yaml")); code != 2 || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("missing --config: exit %d, stderr %q", code, stderr)
	}
}

// TestDaemonHelp: `ffrtmp worker` is the worker daemon with all its flags, and `ffrtmp run`
// documents its own.
func TestDaemonHelp(t *testing.T) {
	t.Parallel()
	for cmd, wants := range map[string][]string{
		"worker": {"--master", "--api-key", "--max-concurrent-jobs", "--data-dir", "--input-roots", "--output-roots",
			"--drain-timeout", "--metrics-port", "--labels", "FFRTMP_WORKER_", "FFMPEG_RTMP_API_KEY", "caps"},
		"run": {"--data-dir", "--listen", "--port", "--tls", "--insecure", "--slots", "--gpu", "--input-roots",
			"--output-roots", "--drain-timeout", "--demo", "--rtmp-port", "--rtmp-listen", "--live-grace", "FFRTMP_RUN_"},
	} {
		stdout, stderr, code := ffrtmp(t, t.TempDir(), cmd, "--help")
		if code != 0 {
			t.Errorf("%s --help: exit %d: %s", cmd, code, stderr)
		}
		for _, want := range wants {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s --help lacks %s", cmd, want)
			}
		}
	}
}
