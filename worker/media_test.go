package worker_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/worker"
	"github.com/ffrtmp/ffrtmp/worker/executor"
)

// states lists the job's state changes, in order.
func (f *farm) states(t *testing.T, id string) []string {
	t.Helper()
	evs, err := f.sub.JobEvents(context.Background(), id, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range evs.Events {
		if e.Type == api.EventState {
			states = append(states, string(e.To))
		}
	}
	return states
}

// A named pipe as input fails the job on its first attempt with a terminal input error
// naming it, instead of blocking each attempt in open(2) until the stall timeout.
func TestNonRegularInputFailsAtOnce(t *testing.T) {
	f := start(t, 5*time.Second)
	fifo := filepath.Join(f.in, "live.ts")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	submitted := time.Now()
	j := f.submit(t, spec.Spec{Input: spec.Input{URL: "live.ts"}, Outputs: []spec.Output{{Name: "main", Target: "out.mp4", Video: &spec.Video{Preset: "ultrafast"}}}})
	failed := f.wait(t, j.ID, api.StatusFailed, api.StatusCompleted)
	if failed.Status != api.StatusFailed || failed.Error == nil || failed.Error.Code != string(engine.KindInput) || failed.Error.Transient ||
		!strings.Contains(failed.Error.Message, fifo) || !strings.Contains(failed.Error.Message, "named pipe") {
		t.Fatalf("job %s: %+v, want a terminal input error naming %s as a named pipe", failed.Status, failed.Error, fifo)
	}
	if states := f.states(t, j.ID); strings.Contains(strings.Join(states, ","), "retrying") {
		t.Errorf("the job was retried: %v", states)
	}
	if took := time.Since(submitted); took > 10*time.Second {
		t.Errorf("the job took %v to fail", took)
	}
}

// ffmpegProgram is the ffmpeg program of the FFmpeg build the worker links.
func ffmpegProgram(t *testing.T) string {
	t.Helper()
	prefix := os.Getenv("FFRTMP_FFMPEG_PREFIX")
	if prefix == "" {
		prefix = "/opt/ffrtmp/ffmpeg-7.1"
	}
	p := filepath.Join(prefix, "bin", "ffmpeg")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("ffmpeg not found at %s (%v): set FFRTMP_FFMPEG_PREFIX", p, err)
	}
	return p
}

// A still image is a farm job's input like any media file (single-image readers are
// allowed); a name that makes libav read an image sequence (image2 expands frame%03d.png
// into other files) is refused, naming the format.
func TestImageInputs(t *testing.T) {
	f := start(t, 5*time.Second)
	png := filepath.Join(f.in, "still.png")
	if out, err := exec.Command(ffmpegProgram(t), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64",
		"-frames:v", "1", png).CombinedOutput(); err != nil {
		t.Fatalf("make a PNG: %v\n%s", err, out)
	}
	b, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.in, "frame%03d.png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	job := func(in, out string) spec.Spec {
		return spec.Spec{Input: spec.Input{URL: in}, Outputs: []spec.Output{{Name: "main", Target: out,
			Video: &spec.Video{Preset: "ultrafast"}, Audio: &spec.Audio{Codec: "none"}}}}
	}
	still := f.submit(t, job("still.png", "still.mp4"))
	seq := f.submit(t, job("frame%03d.png", "seq.mp4"))

	done := f.wait(t, still.ID, api.StatusCompleted, api.StatusFailed)
	if done.Status != api.StatusCompleted || done.Result == nil || done.Result.Frames != 1 {
		t.Fatalf("PNG job %s: result %+v, error %+v", done.Status, done.Result, done.Error)
	}
	if fi, err := os.Stat(filepath.Join(f.out, "still.mp4")); err != nil || fi.Size() == 0 {
		t.Fatalf("PNG job output: %v", err)
	}
	refused := f.wait(t, seq.ID, api.StatusCompleted, api.StatusFailed)
	if refused.Status != api.StatusFailed || refused.Error == nil || refused.Error.Transient ||
		!strings.Contains(refused.Error.Message, "input format image2 is not allowed for farm jobs (allowed: ") ||
		!strings.Contains(refused.Error.Message, "png_pipe") {
		t.Fatalf("image sequence job %s: %+v, want a terminal error naming image2 as not allowed", refused.Status, refused.Error)
	}
	if _, err := os.Stat(filepath.Join(f.out, "seq.mp4")); err == nil {
		t.Error("the refused job wrote its output")
	}
}

// endedMetrics records when each job's executor was done with (runJob returns after the
// executor process has exited).
type endedMetrics struct {
	mu    sync.Mutex
	ended map[string]time.Time
}

func (m *endedMetrics) JobStarted(string)                                       {}
func (m *endedMetrics) JobProgress(string, engine.Progress)                     {}
func (m *endedMetrics) JobEncode([]executor.EncodeLatency, func(string) string) {}
func (m *endedMetrics) JobEnded(id, _ string, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ended[id] = time.Now()
}

func (m *endedMetrics) endedAt(id string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.ended[id]
	return at, ok
}

// A job whose executor is blocked in libav opening its input (a server that accepts and
// never answers) and sends no progress is stopped within a few seconds of its cancel, with
// heartbeats far apart: the worker hears of the cancel from its keep-alive progress reports.
func TestCancelWhileBlockedInLibav(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	m := &endedMetrics{ended: map[string]time.Time{}}
	f := startWith(t, 5*time.Second, func(c *master.Config) {
		c.Farm.HeartbeatInterval = 10 * time.Second
	}, func(c *worker.Config) {
		c.Metrics, c.ProgressInterval = m, 500*time.Millisecond
	})
	j := f.submit(t, spec.Spec{Input: spec.Input{URL: "http://" + ln.Addr().String() + "/live.ts", TimeoutSeconds: 120},
		Outputs: []spec.Output{{Name: "main", Target: "out.mp4", Video: &spec.Video{Preset: "ultrafast"}}}})
	f.wait(t, j.ID, api.StatusRunning)
	time.Sleep(time.Second) // well into the blocked open
	if _, err := f.sub.CancelJob(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	canceled := f.wait(t, j.ID, api.StatusCanceled)
	var at time.Time
	for {
		var ok bool
		if at, ok = m.endedAt(j.ID); ok {
			break
		}
		if time.Since(*canceled.FinishedAt) > 20*time.Second {
			t.Fatal("the executor still runs 20 s after the cancel")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if took := at.Sub(*canceled.FinishedAt); took > 3*time.Second {
		t.Errorf("the executor ended %v after the cancel, want within 3 s", took)
	}
	if left, _ := os.ReadDir(f.out); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}
