package worker_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
	"github.com/ffrtmp/ffrtmp/worker"
	"github.com/ffrtmp/ffrtmp/worker/access"
	"github.com/ffrtmp/ffrtmp/worker/executor"
)

// The test binary is also the executor, as the worker's own binary is in production.
func TestMain(m *testing.M) {
	if os.Getenv("FFRTMP_TEST_EXECUTOR") == "main" {
		os.Exit(executor.Main(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

type farm struct {
	h        *mastertest.Harness
	sub      *api.Client
	in, out  string
	agent    *worker.Agent
	cancel   context.CancelFunc
	finished chan error
}

// start runs a master and one agent with 2 slots on this machine's software encoders.
func start(t *testing.T, drain time.Duration) *farm {
	t.Helper()
	return startWith(t, drain, nil, nil)
}

// startWith is start with changes to the master's and the worker's configuration.
func startWith(t *testing.T, drain time.Duration, mm func(*master.Config), wm func(*worker.Config)) *farm {
	t.Helper()
	h := mastertest.Start(t, func(c *master.Config) {
		c.Farm.HeartbeatInterval = 100 * time.Millisecond
		c.Farm.Interval = 50 * time.Millisecond
		if mm != nil {
			mm(c)
		}
	})
	f := &farm{h: h, sub: h.Client(t, auth.RoleSubmitter), in: t.TempDir(), out: t.TempDir()}
	pol, err := access.New([]string{f.in}, []string{f.out}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := worker.Config{
		Master: h.Client(t, auth.RoleWorker), Name: "test-worker", DataDir: t.TempDir(), Policy: pol,
		Capabilities: api.Capabilities{Slots: 2, Encoders: []string{"libx264", "aac"}},
		Executor:     executor.Command{Path: exe, Env: append(os.Environ(), "FFRTMP_TEST_EXECUTOR=main")},
		LeaseWait:    time.Second, ProgressInterval: 100 * time.Millisecond, DrainTimeout: drain,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if wm != nil {
		wm(&cfg)
	}
	f.agent, err = worker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.finished = cancel, make(chan error, 1)
	go func() { f.finished <- f.agent.Run(ctx) }()
	t.Cleanup(func() { f.stop(t) })
	return f
}

func (f *farm) stop(t *testing.T) {
	if f.cancel == nil {
		return
	}
	f.cancel()
	f.cancel = nil
	select {
	case err := <-f.finished:
		if err != nil {
			t.Errorf("agent: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("the agent did not stop")
	}
}

func (f *farm) submit(t *testing.T, s spec.Spec) api.Job {
	t.Helper()
	j, err := f.sub.SubmitJob(context.Background(), api.JobRequest{Spec: &s}, "")
	if err != nil {
		t.Fatal(err)
	}
	return *j
}

func (f *farm) wait(t *testing.T, id string, want ...api.Status) api.Job {
	t.Helper()
	return f.waitUntil(t, id, time.Now().Add(30*time.Second), want...)
}

// nodeID waits for the agent to register.
func (f *farm) nodeID(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.agent.NodeID() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the agent did not register")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return f.agent.NodeID()
}

func synthetic(seconds float64, target string) spec.Spec {
	return spec.Spec{Input: spec.Input{Synthetic: &spec.Synthetic{Width: 160, Height: 90, Duration: seconds}},
		Outputs: []spec.Output{{Name: "main", Target: target, Video: &spec.Video{Preset: "ultrafast"}}}}
}

func TestJobRunsToCompletion(t *testing.T) {
	f := start(t, 5*time.Second)
	j := f.submit(t, synthetic(2, "done.mp4"))
	done := f.wait(t, j.ID, api.StatusCompleted, api.StatusFailed)
	if done.Status != api.StatusCompleted || done.Result == nil || done.Result.Encoders["main"] != "libx264" || done.Result.Frames != 60 {
		t.Fatalf("job %s: result %+v error %+v", done.Status, done.Result, done.Error)
	}
	if fi, err := os.Stat(filepath.Join(f.out, "done.mp4")); err != nil || fi.Size() == 0 {
		t.Fatalf("output: %v", err)
	}
	evs, err := f.sub.JobEvents(context.Background(), j.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range evs.Events {
		if e.Type == api.EventState {
			states = append(states, string(e.To))
		}
	}
	if strings.Join(states, ",") != "queued,assigned,running,completed" {
		t.Errorf("states %v", states)
	}
}

func TestCancelStopsTheExecutor(t *testing.T) {
	f := start(t, 5*time.Second)
	j := f.submit(t, synthetic(600, "long.mp4"))
	f.wait(t, j.ID, api.StatusRunning)
	node := f.nodeID(t)
	if _, err := f.sub.CancelJob(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	canceled := time.Now()
	// The worker hears of it at its next progress report or heartbeat and kills the
	// executor, which removes its partial output.
	for {
		n, err := f.sub.GetNode(context.Background(), node)
		if err != nil {
			t.Fatal(err)
		}
		left, _ := os.ReadDir(f.out)
		if len(n.RunningJobs) == 0 && len(left) == 0 {
			break
		}
		if time.Since(canceled) > 5*time.Second {
			t.Fatalf("5 s after the cancel: node runs %v, output folder holds %v", n.RunningJobs, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The slot is free again: a new job runs.
	next := f.submit(t, synthetic(1, "next.mp4"))
	f.wait(t, next.ID, api.StatusCompleted)
}

func TestRefusedPathsFailTheJob(t *testing.T) {
	f := start(t, 5*time.Second)
	for _, in := range []string{"/etc/shadow", "../x.mp4", "concat:/etc/passwd"} {
		s := spec.Spec{Input: spec.Input{URL: in}, Outputs: []spec.Output{{Container: "null"}}}
		j, err := f.sub.SubmitJob(context.Background(), api.JobRequest{Spec: &s}, "")
		if err != nil { // the master refuses some itself, with a 400
			continue
		}
		failed := f.wait(t, j.ID, api.StatusFailed)
		if failed.Error == nil || failed.Error.Code != worker.JobErrRefused || failed.Error.Transient {
			t.Errorf("input %q: %+v, want a terminal refusal", in, failed.Error)
		}
	}
	s := synthetic(1, "/etc/ffrtmp-was-here.mp4")
	j := f.submit(t, s)
	if failed := f.wait(t, j.ID, api.StatusFailed); failed.Error.Code != worker.JobErrRefused || !strings.Contains(failed.Error.Message, "outside") {
		t.Errorf("output outside the roots: %+v", failed.Error)
	}
}

func TestRegistersAgainWhenForgotten(t *testing.T) {
	f := start(t, 5*time.Second)
	id := f.nodeID(t)
	admin := f.h.Client(t, auth.RoleAdmin)
	if err := admin.RemoveNode(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if n, err := admin.GetNode(context.Background(), id); err == nil && n.Status == api.NodeOnline {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker did not register again after the master forgot it")
		}
		time.Sleep(20 * time.Millisecond)
	}
	j := f.submit(t, synthetic(1, "after.mp4"))
	f.wait(t, j.ID, api.StatusCompleted)
}

func TestShutdownHandsBackUnfinishedJobs(t *testing.T) {
	f := start(t, 200*time.Millisecond)
	j := f.submit(t, synthetic(600, "long.mp4"))
	f.wait(t, j.ID, api.StatusRunning)
	f.stop(t)
	back := f.wait(t, j.ID, api.StatusRetrying, api.StatusQueued)
	if back.Error == nil || back.Error.Code != api.JobErrNodeDrained || back.Attempts != 0 {
		t.Fatalf("after the worker shut down: %s, attempts %d, error %+v", back.Status, back.Attempts, back.Error)
	}
}

// TestHardwareOnThisMachine: with no GPU here, a job that requires NVENC fails cleanly
// naming the device (on a node that claimed it), and one that allows a fallback completes
// with libx264 and says so.
func TestHardwareOnThisMachine(t *testing.T) {
	f := startWith(t, 5*time.Second, nil, func(c *worker.Config) {
		// Claim NVENC so the master hands the required job to this node at all.
		c.Capabilities.Encoders = append(c.Capabilities.Encoders, "h264_nvenc")
		c.Capabilities.Hardware = []string{"cuda"}
	})
	nvenc := func(mode string) spec.Spec {
		s := synthetic(1, mode+".mp4")
		s.Outputs[0].Video = &spec.Video{Codec: "h264_nvenc"}
		s.Hardware = spec.Hardware{Mode: mode, Device: "cuda"}
		return s
	}
	s := nvenc("require")
	zero := 0
	j, err := f.sub.SubmitJob(context.Background(), api.JobRequest{Spec: &s, MaxRetries: &zero}, "")
	if err != nil {
		t.Fatal(err)
	}
	failed := f.wait(t, j.ID, api.StatusFailed, api.StatusCompleted)
	if failed.Status != api.StatusFailed || failed.Error.Code != "hardware_unavailable" || !strings.Contains(failed.Error.Message, "cuda") {
		t.Errorf("required NVENC: %s %+v", failed.Status, failed.Error)
	}
	auto := f.submit(t, nvenc("auto"))
	done := f.wait(t, auto.ID, api.StatusCompleted, api.StatusFailed)
	if done.Status != api.StatusCompleted || done.Result.Encoders["main"] != "libx264" || done.Result.Fallback == "" {
		t.Errorf("NVENC with fallback: %s, result %+v, error %+v", done.Status, done.Result, done.Error)
	}
}

// TestMasterRestart: the master goes away mid-job and comes back on the same database and
// port; the worker keeps transcoding, and the job completes.
func TestMasterRestart(t *testing.T) {
	f := start(t, 5*time.Second)
	j := f.submit(t, synthetic(40, "through-restart.mp4")) // about 1 s of work here
	f.wait(t, j.ID, api.StatusRunning)
	port := f.h.Master.Addr().(*net.TCPAddr).Port
	if err := f.h.Stop(t); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // heartbeats and progress reports fail meanwhile
	h2 := mastertest.StartIn(t, f.h.Dir, func(c *master.Config) {
		c.Port = port
		c.Farm.HeartbeatInterval = 100 * time.Millisecond
		c.Farm.Interval = 50 * time.Millisecond
	})
	f.sub = h2.Client(t, auth.RoleSubmitter)
	done := f.wait(t, j.ID, api.StatusCompleted, api.StatusFailed)
	if done.Status != api.StatusCompleted || done.Attempts != 1 {
		t.Fatalf("after the master's restart: %s, attempts %d, error %+v", done.Status, done.Attempts, done.Error)
	}
}

// TestRestartKeepsNodeSecret: a worker keeps its node ID and secret in its data dir (mode
// 0600) and, restarted with a fresh client, acts as the same node; a data dir whose secret
// the master does not accept stops the worker with a message saying what to do.
func TestRestartKeepsNodeSecret(t *testing.T) {
	dir := t.TempDir()
	f := startWith(t, time.Second, nil, func(c *worker.Config) { c.DataDir = dir })
	deadline := time.Now().Add(10 * time.Second)
	for f.agent.NodeID() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	id := f.agent.NodeID()
	f.stop(t)
	fi, err := os.Stat(filepath.Join(dir, "node-secret"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("node-secret: %v, mode %v; want a 0600 file", err, fi.Mode())
	}

	pol, err := access.New([]string{f.in}, []string{f.out}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	run := func(client *api.Client) error {
		a, err := worker.New(worker.Config{Master: client, Name: "again", DataDir: dir, Policy: pol,
			Capabilities: api.Capabilities{Slots: 1, Encoders: []string{"libx264"}}, Executor: executor.Command{Path: "/bin/false"},
			LeaseWait: 100 * time.Millisecond, DrainTimeout: time.Second,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		return a.Run(ctx)
	}
	if err := run(f.h.Client(t, auth.RoleWorker)); err != nil {
		t.Fatalf("restarted worker: %v", err)
	}
	n, err := f.h.Client(t, auth.RoleAdmin).GetNode(context.Background(), id)
	if err != nil || n.Name != "again" {
		t.Fatalf("node %s after the restart: %+v, %v; want it registered again under its ID", id, n, err)
	}

	if err := os.WriteFile(filepath.Join(dir, "node-secret"), []byte("ffn_wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = run(f.h.Client(t, auth.RoleWorker))
	if err == nil || !strings.Contains(err.Error(), "ffrtmp nodes remove "+id) || !strings.Contains(err.Error(), "node-id") {
		t.Fatalf("worker with a wrong secret: %v; want an error saying how to recover", err)
	}
}
