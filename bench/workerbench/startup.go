package workerbench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/internal/stats"
	"github.com/ffrtmp/ffrtmp/worker/executor"
)

// StartupTargetMs is the bound on the executor's start-up overhead per job.
const StartupTargetMs = 50

// trivialSpec is a job with next to no work: one frame (0.04 s at 25-30 fps) of a 64x64
// synthetic source to a null output, so its wall time is what surrounds the work.
func trivialSpec() spec.Spec {
	return spec.Spec{
		Input:   spec.Input{Synthetic: &spec.Synthetic{Width: 64, Height: 64, Duration: 0.04}},
		Outputs: []spec.Output{{Name: "null", Container: "null"}},
	}
}

// Startup is what the start-up measurement found, in milliseconds.
type Startup struct {
	Description string `json:"description"`
	Runs        int    `json:"runs"`
	// Executor is executor.Run of the trivial job: spawn, load libav, read the request, run,
	// write the result, exit, reap.
	Executor Dist `json:"executor_ms"`
	// InProcess is engine.Run of the same job in this process.
	InProcess Dist `json:"in_process_ms"`
	// Noop is executor.Run of an empty spec: the child starts, reads the request, fails
	// validation and exits without opening anything in libav — the process's own cost.
	Noop Dist `json:"noop_executor_ms"`
	// Overhead is Executor − InProcess per round (runs of one round share the machine's state).
	Overhead Dist    `json:"overhead_ms"`
	TargetMs float64 `json:"target_ms"`
	// Pass compares the median overhead with the target.
	Pass bool `json:"pass"`
}

// Dist summarises samples in milliseconds.
type Dist struct {
	Samples []float64 `json:"samples"`
	Median  float64   `json:"median"`
	P90     float64   `json:"p90"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
}

func dist(xs []float64) Dist {
	if len(xs) == 0 {
		return Dist{}
	}
	s := slices.Sorted(slices.Values(xs))
	return Dist{Samples: xs, Median: stats.Median(s), P90: stats.Percentile(s, 0.9), Min: s[0], Max: s[len(s)-1]}
}

// MeasureStartup runs the trivial job runs times each way (executor child, in-process, empty
// executor), after one warm-up each, alternating the order round by round.
func MeasureStartup(ctx context.Context, bin string, runs int, log io.Writer) (Startup, error) {
	if log == nil {
		log = io.Discard
	}
	if err := checkBinary(bin); err != nil {
		return Startup{}, err
	}
	cmd := Executor(bin)
	s := trivialSpec()
	ways := []struct {
		name string
		run  func() error
	}{
		{"executor", func() error { return runExecutor(ctx, cmd, executor.Request{JobID: "startup", Spec: s}) }},
		{"in-process", func() error { _, err := engine.Run(ctx, s, nil); return err }},
		{"noop-executor", func() error { return noopExecutor(ctx, cmd) }},
	}
	ms := make([][]float64, len(ways))
	for round := 0; round <= runs; round++ {
		for k := range ways {
			i := k
			if round%2 == 1 {
				i = len(ways) - 1 - k
			}
			t0 := time.Now()
			if err := ways[i].run(); err != nil {
				return Startup{}, fmt.Errorf("start-up, %s: %w", ways[i].name, err)
			}
			d := float64(time.Since(t0).Microseconds()) / 1000
			if round > 0 {
				ms[i] = append(ms[i], d)
			}
		}
		if round > 0 {
			fmt.Fprintf(log, "  startup run %d/%d  executor %6.1f ms  in-process %6.1f ms  noop %6.1f ms\n",
				round, runs, ms[0][round-1], ms[1][round-1], ms[2][round-1])
		}
	}
	over := make([]float64, runs)
	for i := range over {
		over[i] = ms[0][i] - ms[1][i]
	}
	st := Startup{
		Description: "trivial job (64x64 synthetic, 0.04 s, null output): executor.Run of an ffrtmp-worker exec child vs engine.Run in-process",
		Runs:        runs, Executor: dist(ms[0]), InProcess: dist(ms[1]), Noop: dist(ms[2]), Overhead: dist(over),
		TargetMs: StartupTargetMs,
	}
	st.Pass = st.Overhead.Median <= StartupTargetMs
	return st, nil
}

// noopExecutor starts the child with an empty spec, which the engine refuses before it opens
// anything: only the process's start (exec, dynamic loading of libav, Go runtime), the
// request and result lines and the exit are timed.
func noopExecutor(ctx context.Context, cmd executor.Command) error {
	o, err := executor.Run(ctx, cmd, executor.Request{}, executor.Options{})
	if err != nil {
		return err
	}
	if o.End != executor.EndFailed {
		return fmt.Errorf("an empty spec ended %s, want failed: %s", o.End, o.Error())
	}
	return nil
}
