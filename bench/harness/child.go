package harness

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/internal/stats"
)

// ChildArg is the hidden subcommand of the ffrtmp binary that runs one measured run: each run
// is a process of its own, so its CPU time and peak RSS are its own (getrusage of the child).
const ChildArg = "bench-exec"

// childRequest is what a run's process reads on stdin.
type childRequest struct {
	Spec spec.Spec `json:"spec"`
}

// childResult is what it writes on stdout.
type childResult struct {
	Result engine.Result `json:"result"`
	// Encode latency of the video frames of every output, milliseconds.
	P50ms float64 `json:"p50_ms"`
	P95ms float64 `json:"p95_ms"`
	P99ms float64 `json:"p99_ms"`
	// Outputs is each output's own encode latency, by output name.
	Outputs map[string]latencyMS `json:"outputs,omitempty"`
	// PeakRSS is the process's own high-water RSS (VmHWM), bytes.
	PeakRSS int64  `json:"peak_rss_bytes"`
	Error   string `json:"error,omitempty"`
}

// ChildMain is the run process's entry point (`ffrtmp bench-exec`): one spec on stdin, one
// childResult on stdout. It returns the exit status.
func ChildMain(stdin io.Reader, stdout io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	engine.TuneProcess()
	var req childRequest
	enc := json.NewEncoder(stdout)
	dec := json.NewDecoder(io.LimitReader(stdin, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		enc.Encode(childResult{Error: "read request: " + err.Error()})
		return 2
	}
	var obs frameTimes
	res, err := engine.Run(ctx, req.Spec, &obs)
	out := childResult{Result: res}
	if err != nil {
		out.Error = err.Error()
	}
	out.P50ms, out.P95ms, out.P99ms = obs.percentiles()
	out.Outputs = obs.perOutput()
	out.PeakRSS = peakRSS()
	if err := enc.Encode(out); err != nil {
		return 1
	}
	if out.Error != "" {
		return 1
	}
	return 0
}

// latencyMS is encode latency percentiles in milliseconds.
type latencyMS struct {
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
}

// frameTimes keeps every video frame's encode time, pooled and per output.
type frameTimes struct {
	mu  sync.Mutex
	ms  []float64
	out map[string][]float64
}

func (f *frameTimes) OnFrame(s engine.FrameStats) {
	if s.Media != "video" {
		return
	}
	ms := float64(s.Encode) / float64(time.Millisecond)
	f.mu.Lock()
	f.ms = append(f.ms, ms)
	if f.out == nil {
		f.out = map[string][]float64{}
	}
	f.out[s.Output] = append(f.out[s.Output], ms)
	f.mu.Unlock()
}

// perOutput is each output's percentiles.
func (f *frameTimes) perOutput() map[string]latencyMS {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]latencyMS, len(f.out))
	for name, ms := range f.out {
		slices.Sort(ms)
		out[name] = latencyMS{stats.Percentile(ms, 0.50), stats.Percentile(ms, 0.95), stats.Percentile(ms, 0.99)}
	}
	return out
}

func (f *frameTimes) OnProgress(engine.Progress) {}

func (f *frameTimes) percentiles() (p50, p95, p99 float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	slices.Sort(f.ms)
	return stats.Percentile(f.ms, 0.50), stats.Percentile(f.ms, 0.95), stats.Percentile(f.ms, 0.99)
}

// stat is min, median and max of xs (zero when empty).
func stat(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{}
	}
	return Stat{Min: slices.Min(xs), Median: stats.Median(xs), Max: slices.Max(xs)}
}

// peakRSS is this process's high-water resident set (/proc/self/status VmHWM), 0 when it
// cannot be read. The parent cannot use getrusage's ru_maxrss for it: Go starts children
// with CLONE_VM|CLONE_VFORK, and Linux folds the high-water RSS of the memory the child
// left at exec (the parent's) into the child's maxrss, so every run would report at least
// the bench's own peak.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// selfExe is the binary that runs the child processes.
func selfExe() (string, error) { return os.Executable() }
