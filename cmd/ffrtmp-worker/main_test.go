package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/hw"
	"github.com/ffrtmp/ffrtmp/internal/testport"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ffrtmp-worker-test")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "ffrtmp-worker")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		panic("build ffrtmp-worker: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestCaps(t *testing.T) {
	out, err := exec.Command(bin, "caps", "-o", "json").Output()
	if err != nil {
		t.Fatalf("caps: %v", err)
	}
	var r hw.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("caps -o json: %v", err)
	}
	if !strings.Contains(strings.Join(hw.Opened(r.Encoders), ","), "libx264") {
		t.Errorf("libx264 not among the encoders that open: %+v", r.Encoders)
	}
}

// TestWorkerRunsJobsAndDrains runs the real binary against a master on loopback: it
// registers, runs a job in an executor process of itself, and exits 0 on SIGTERM.
func TestWorkerRunsJobsAndDrains(t *testing.T) {
	h := mastertest.Start(t, func(c *master.Config) { c.Farm.HeartbeatInterval = 200 * time.Millisecond })
	out := t.TempDir()
	port := freePort(t)
	var stderr bytes.Buffer
	w := exec.Command(bin, "--register", "--master", h.URL, "--data-dir", t.TempDir(), "--output-roots", out,
		"--max-concurrent-jobs", "2", "--labels", "zone=test", "--drain-timeout", "10s",
		"--metrics-listen", "127.0.0.1", "--metrics-port", strconv.Itoa(port))
	w.Env = append(os.Environ(), "FFMPEG_RTMP_API_KEY="+mastertest.WorkerKey)
	w.Stderr = &stderr
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Process.Kill()

	sub := h.Client(t, auth.RoleSubmitter)
	s := spec.Spec{Input: spec.Input{Synthetic: &spec.Synthetic{Width: 160, Height: 90, Duration: 1}},
		Outputs: []spec.Output{{Target: "out.mp4", Video: &spec.Video{Preset: "ultrafast"}}}}
	j, err := sub.SubmitJob(context.Background(), api.JobRequest{Spec: &s, Requirements: api.Requirements{Labels: map[string]string{"zone": "test"}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := sub.GetJob(context.Background(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == api.StatusCompleted {
			break
		}
		if got.Status == api.StatusFailed || time.Now().After(deadline) {
			t.Fatalf("job %s (%+v); worker said:\n%s", got.Status, got.Error, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if fi, err := os.Stat(filepath.Join(out, "out.mp4")); err != nil || fi.Size() == 0 {
		t.Fatalf("output: %v", err)
	}
	nodes, err := sub.ListNodes(context.Background())
	if err != nil || len(nodes.Nodes) != 1 || nodes.Nodes[0].Capabilities.Slots != 2 || nodes.Nodes[0].Labels["zone"] != "test" {
		t.Fatalf("nodes %+v, %v", nodes, err)
	}

	// The worker counts a job as ended just after the master has its completion.
	var body []byte
	for scrape := time.Now(); ; {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `ffrtmp_worker_jobs_total{end="completed"} 1`) || time.Since(scrape) > 5*time.Second {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{
		`ffrtmp_worker_jobs_total{end="completed"} 1`,
		`ffrtmp_worker_encoder_available{encoder="libx264"} 1`,
		`ffrtmp_worker_frame_encode_seconds_count{encoder="libx264"} 30`,
		`ffrtmp_worker_job_duration_seconds_count{end="completed"} 1`,
		`ffrtmp_worker_cpu_usage_percent`, `ffrtmp_worker_memory_usage_bytes`, `ffrtmp_worker_running_jobs 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	if err := w.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- w.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("worker exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the worker did not exit after SIGTERM:\n%s", stderr.String())
	}
}

func TestNoAPIKey(t *testing.T) {
	c := exec.Command(bin, "--master", "http://127.0.0.1:1", "--data-dir", t.TempDir())
	c.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := c.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "FFMPEG_RTMP_API_KEY") {
		t.Fatalf("without a key: %v\n%s", err, out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	return testport.Free(t)
}

// startWorker runs the worker binary against h with a fresh data dir, writing under out.
func startWorker(t *testing.T, h *mastertest.Harness, out string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	var stderr bytes.Buffer
	w := exec.Command(bin, "--master", h.URL, "--data-dir", t.TempDir(), "--output-roots", out, "--metrics-port", "0")
	w.Env = append(os.Environ(), "FFMPEG_RTMP_API_KEY="+mastertest.WorkerKey)
	w.Stderr = &stderr
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Process.Kill(); _ = w.Wait() })
	return w, &stderr
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// TestKilledWorkersJobsFinishElsewhere: a worker killed with SIGKILL takes its executor with
// it, the master requeues its job when its heartbeats stop, and a second worker finishes it.
func TestKilledWorkersJobsFinishElsewhere(t *testing.T) {
	h := mastertest.Start(t, func(c *master.Config) {
		c.Farm.HeartbeatInterval = 100 * time.Millisecond
		c.Farm.HeartbeatTimeout = time.Second
		c.Farm.Interval = 100 * time.Millisecond
		c.Farm.RetryBackoff = 100 * time.Millisecond
	})
	out := t.TempDir()
	a, aErr := startWorker(t, h, out)
	sub := h.Client(t, auth.RoleSubmitter)
	s := spec.Spec{Input: spec.Input{Synthetic: &spec.Synthetic{Width: 160, Height: 90, Duration: 100}},
		Outputs: []spec.Output{{Target: "moved.mp4", Video: &spec.Video{Preset: "ultrafast"}}}}
	j, err := sub.SubmitJob(context.Background(), api.JobRequest{Spec: &s}, "")
	if err != nil {
		t.Fatal(err)
	}
	var executors []int
	for deadline := time.Now().Add(30 * time.Second); len(executors) == 0; {
		if got, err := sub.GetJob(context.Background(), j.ID); err == nil && got.Status == api.StatusRunning {
			executors = childrenOf(a.Process.Pid)
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker A never ran the job:\n%s", aErr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.Wait()
	for _, pid := range executors {
		for deadline := time.Now().Add(3 * time.Second); syscall.Kill(pid, 0) == nil; {
			if time.Now().After(deadline) {
				t.Fatalf("executor %d outlived its killed worker", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	_, bErr := startWorker(t, h, out)
	for deadline := time.Now().Add(60 * time.Second); ; {
		got, err := sub.GetJob(context.Background(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == api.StatusCompleted {
			if got.Attempts != 2 {
				evs, _ := sub.JobEvents(context.Background(), j.ID, 0, 100)
				for _, e := range evs.Events {
					t.Logf("event %s %s→%s %s %+v", e.Type, e.From, e.To, e.Message, e.Error)
				}
				t.Errorf("completed after %d attempts, want 2", got.Attempts)
			}
			break
		}
		if got.Status == api.StatusFailed || time.Now().After(deadline) {
			t.Fatalf("job %s (%+v); worker B said:\n%s", got.Status, got.Error, bErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if fi, err := os.Stat(filepath.Join(out, "moved.mp4")); err != nil || fi.Size() == 0 {
		t.Fatalf("output: %v", err)
	}
}

// TestEnvAndConfigFile: every flag is also FFRTMP_WORKER_<FLAG> and a key of --config, the
// environment winning over the file (seen through the value the error names).
func TestEnvAndConfigFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "worker.yaml")
	if err := os.WriteFile(conf, []byte("max-concurrent-jobs: 300\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, "--max-concurrent-jobs 300: want 1..256"},
		{[]string{"FFRTMP_WORKER_MAX_CONCURRENT_JOBS=400"}, "--max-concurrent-jobs 400: want 1..256"},
	} {
		c := exec.Command(bin, "--config", conf, "--data-dir", dir)
		c.Env = append([]string{"PATH=" + os.Getenv("PATH"), "FFMPEG_RTMP_API_KEY=k"}, tc.env...)
		out, err := c.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("env %v: %v\n%s\nwant %q", tc.env, err, out, tc.want)
		}
	}
}
