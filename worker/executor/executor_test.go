package executor_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/worker/executor"
)

// The test binary is its own executor: started with FFRTMP_TEST_EXECUTOR set, it runs Main
// (or, for "hang", reads its request and then says nothing, like a child stuck in a driver).
func TestMain(m *testing.M) {
	switch os.Getenv("FFRTMP_TEST_EXECUTOR") {
	case "main":
		os.Exit(executor.Main(os.Stdin, os.Stdout))
	case "hang":
		time.Sleep(time.Hour)
	}
	os.Exit(m.Run())
}

func self(t *testing.T, mode string) executor.Command {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return executor.Command{Path: exe, Env: append(os.Environ(), "FFRTMP_TEST_EXECUTOR="+mode)}
}

func synthetic(seconds float64, w, h int, target string) spec.Spec {
	o := spec.Output{Container: "null"}
	if target != "" {
		o = spec.Output{Name: "main", Target: target, Video: &spec.Video{Preset: "ultrafast"}}
	}
	return spec.Spec{Input: spec.Input{Synthetic: &spec.Synthetic{Width: w, Height: h, Duration: seconds}}, Outputs: []spec.Output{o}}
}

func TestCompletesWithProgress(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.mp4")
	var mu sync.Mutex
	var progress, frames int64
	o, err := executor.Run(context.Background(), self(t, "main"), executor.Request{JobID: "j1", Spec: synthetic(2, 160, 90, out)},
		executor.Options{OnEvent: func(ev executor.Event) {
			mu.Lock()
			defer mu.Unlock()
			if ev.Progress != nil {
				progress++
			}
			for _, l := range ev.Encode {
				frames += l.Frames
				var n int64
				for _, b := range l.Buckets {
					n += b
				}
				if n != l.Frames || l.Output != "main" {
					t.Errorf("latency buckets %+v do not add up to its frames", l)
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if o.End != executor.EndCompleted || o.Event == nil || o.Event.Result == nil {
		t.Fatalf("outcome %+v (%s)", o, o.Error())
	}
	if got := o.Event.Result.Frames; got != 60 || frames != 60 {
		t.Errorf("result frames %d, encode latencies for %d frames; want 60", got, frames)
	}
	if progress == 0 {
		t.Error("no progress event")
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Errorf("output: %v", err)
	}
}

func TestEngineErrorIsAFailure(t *testing.T) {
	bad := spec.Spec{Input: spec.Input{URL: filepath.Join(t.TempDir(), "missing.mp4")}, Outputs: []spec.Output{{Container: "null"}}}
	o, err := executor.Run(context.Background(), self(t, "main"), executor.Request{Spec: bad}, executor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o.End != executor.EndFailed || o.Event.Error.Kind != "input" || o.Event.Error.Transient || !strings.Contains(o.Error(), "missing.mp4") {
		t.Fatalf("outcome %+v, error %+v", o, o.Event.Error)
	}
}

func TestCancelStopsTheChildAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	start := time.Now()
	var canceledAt time.Time
	o, err := executor.Run(ctx, self(t, "main"), executor.Request{Spec: synthetic(600, 640, 360, filepath.Join(dir, "long.mp4"))},
		executor.Options{OnEvent: func(executor.Event) { once.Do(func() { canceledAt = time.Now(); cancel() }) }})
	if err != nil {
		t.Fatal(err)
	}
	if o.End != executor.EndCanceled {
		t.Fatalf("outcome %s (%s), want canceled", o.End, o.Error())
	}
	if canceledAt.IsZero() {
		t.Fatal("no progress came before the cancel")
	}
	if d := time.Since(canceledAt); d > 3*time.Second {
		t.Errorf("the child took %s to stop after the cancel (started %s before)", d, canceledAt.Sub(start))
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a canceled run left %v", left)
	}
}

// TestCrashCostsOnlyItsJob: a child killed with SIGSEGV (as by a driver fault) ends as a
// crash naming the signal, while a sibling job in another child completes.
func TestCrashCostsOnlyItsJob(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	var sibling executor.Outcome
	wg.Go(func() {
		var err error
		sibling, err = executor.Run(context.Background(), self(t, "main"), executor.Request{Spec: synthetic(3, 160, 90, filepath.Join(dir, "sibling.mp4"))}, executor.Options{})
		if err != nil {
			t.Error(err)
		}
	})
	var pid int
	var once sync.Once
	o, err := executor.Run(context.Background(), self(t, "main"), executor.Request{Spec: synthetic(600, 320, 180, "")},
		executor.Options{
			OnStart: func(p int) { pid = p },
			OnEvent: func(executor.Event) {
				once.Do(func() {
					if err := syscall.Kill(pid, syscall.SIGSEGV); err != nil {
						t.Error(err)
					}
				})
			},
		})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if o.End != executor.EndCrashed || !strings.Contains(o.Signal, "SIGSEGV") || !strings.Contains(o.Error(), "segmentation") {
		t.Fatalf("outcome %s, signal %q: %s", o.End, o.Signal, o.Error())
	}
	if sibling.End != executor.EndCompleted {
		t.Fatalf("the sibling job: %s (%s)", sibling.End, sibling.Error())
	}
}

func TestStalledChildIsKilled(t *testing.T) {
	o, err := executor.Run(context.Background(), self(t, "hang"), executor.Request{Spec: synthetic(1, 64, 64, "")},
		executor.Options{StallTimeout: 300 * time.Millisecond, Grace: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if o.End != executor.EndStalled || !strings.Contains(o.Error(), "no progress") {
		t.Fatalf("outcome %+v", o)
	}
}

// The failure the child reports (and the worker sends the master) names the input without
// the password and token its URL carries.
func TestFailureHidesURLSecrets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := spec.Spec{Input: spec.Input{URL: "http://user:SECRETPW@" + addr + "/in.mp4?token=SECRETTOKEN", TimeoutSeconds: 2},
		Outputs: []spec.Output{{Container: "null"}}}
	o, err := executor.Run(context.Background(), self(t, "main"), executor.Request{JobID: "j1", Spec: s}, executor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o.End != executor.EndFailed || o.Event == nil || o.Event.Error == nil {
		t.Fatalf("outcome %+v (%s), want a failure", o, o.Error())
	}
	for _, msg := range []string{o.Event.Error.Message, o.Error()} {
		if strings.Contains(msg, "SECRET") || !strings.Contains(msg, "http://***@"+addr+"/in.mp4?token=***") {
			t.Errorf("failure %q: want the input named without its password and token", msg)
		}
	}
}
