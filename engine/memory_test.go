package engine_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// rss is the process's resident set size in bytes, after giving back what Go can.
func rss(t *testing.T) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatalf("read RSS: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// Every libav object a run allocates is freed: hundreds of runs in one process (a bench
// harness's life) leave its memory flat.
//
// RSS is only a fair witness when glibc's malloc holds still. Left to itself it grows RSS for
// hundreds of runs on its own: each short-lived libav thread (x264, filter slices) lands in one
// of up to 8×cores arenas, and the dynamic mmap threshold moves large buffers into them, by
// different amounts on different machines. So the measurement runs in a child process of this
// test binary with one arena and a fixed mmap threshold (glibc reads both at start-up only),
// where a leak is the only thing that grows RSS. The child runs nothing else, so other tests'
// runs do not count either.
func TestRunMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("600 runs: skipped with -short")
	}
	if os.Getenv(memChildEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRunMemoryFlat$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), memChildEnv+"=1", "MALLOC_ARENA_MAX=1", "MALLOC_MMAP_THRESHOLD_=131072")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("leak check in a child process: %v\n%s", err, lastLines(string(out), 30))
		}
		for _, line := range strings.Split(string(out), "\n") {
			if _, msg, ok := strings.Cut(line, "memory_test.go:"); ok {
				t.Log("child:", strings.TrimSpace(msg[strings.Index(msg, ":")+1:]))
			}
		}
		return
	}
	const warmup, measured, limit = 100, 500, 4 << 20
	spec := spec.Spec{
		Input:   synthetic(64, 64, 0.1),
		Outputs: []spec.Output{{Target: filepath.Join(t.TempDir(), "tiny.mp4"), Video: &spec.Video{Preset: "ultrafast"}}},
	}
	runs := func(n int) {
		for i := range n {
			// Half the runs with an observer, so its per-frame paths are covered too.
			var obs engine.Observer
			if i%2 == 0 {
				obs = &recorder{}
			}
			if res := run(t, spec, obs); res.Outputs[0].Frames != 3 {
				t.Fatalf("run %d encoded %d frames, want 3", i, res.Outputs[0].Frames)
			}
		}
	}
	runs(warmup)
	before := rss(t)
	runs(measured)
	after := rss(t)
	t.Logf("RSS %d MiB before %d runs, %d MiB after (%+d KiB)", before>>20, measured, after>>20, (after-before)>>10)
	if grew := after - before; grew > limit {
		t.Errorf("RSS grew by %d KiB over %d runs, want less than %d KiB", grew>>10, measured, limit>>10)
	}
}

// memChildEnv marks the child process that TestRunMemoryFlat measures in.
const memChildEnv = "FFRTMP_MEMTEST_CHILD"

// lastLines is the tail of a child's output, for a failure message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
