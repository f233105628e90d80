package workerbench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ffrtmp/ffrtmp/bench/benchio"
	"github.com/ffrtmp/ffrtmp/bench/enginebench"
	"github.com/ffrtmp/ffrtmp/internal/table"
)

// Report is everything one benchmark run measured, as written to JSON.
type Report struct {
	Started  time.Time           `json:"started"`
	Finished time.Time           `json:"finished"`
	Runs     int                 `json:"runs"`
	Machine  enginebench.Machine `json:"machine"`
	Worker   string              `json:"worker_binary"`
	Source   enginebench.Source  `json:"input"`
	Startup  Startup             `json:"startup"`
	// Concurrent holds one case per N: N executor jobs vs N ffmpeg processes.
	Concurrent []enginebench.CaseResult `json:"concurrent"`
	// Pass is true when every target was reached.
	Pass bool `json:"pass"`
}

// Options say what to measure.
type Options struct {
	Worker      string // the ffrtmp-worker binary
	StartupRuns int
	Runs        int   // rounds of each concurrent case, after one warm-up
	N           []int // concurrent jobs per case
	TempDir     string
	Log         io.Writer
}

// Run measures the start-up overhead, then each concurrent case in turn.
func Run(ctx context.Context, m enginebench.Machine, src enginebench.Source, ff enginebench.FFmpeg, opt Options) (Report, error) {
	r := Report{Started: time.Now().UTC(), Runs: opt.Runs, Machine: m, Worker: opt.Worker, Source: src}
	var err error
	if r.Startup, err = MeasureStartup(ctx, opt.Worker, opt.StartupRuns, opt.Log); err != nil {
		return r, err
	}
	r.Pass = r.Startup.Pass
	for _, n := range opt.N {
		c, err := ConcurrentCase(n, opt.Worker, src, ff)
		if err != nil {
			return r, err
		}
		cr, err := enginebench.RunCase(ctx, c, enginebench.Options{Runs: opt.Runs, TempDir: opt.TempDir, Log: opt.Log})
		if err != nil {
			return r, err
		}
		r.Concurrent = append(r.Concurrent, cr)
		for _, cmp := range cr.Comparisons {
			r.Pass = r.Pass && cmp.Pass
		}
	}
	r.Finished = time.Now().UTC()
	return r, nil
}

// WriteJSON writes the report as dir/worker-<UTC time>.json and copies it to
// dir/worker-latest.json. It returns the first path.
func (r Report) WriteJSON(dir string) (string, error) {
	return benchio.WriteJSON(dir, "worker", r.Started, r)
}

// WriteTable prints the start-up row and one row per concurrent case: medians with their
// spread, the ratio ffmpeg ÷ ffrtmp (higher is better), the target and whether it was met.
func (r Report) WriteTable(w io.Writer) {
	t := table.New("case", "ffrtmp", "ffmpeg / base", "ratio", "target", "ok", "cpu s ffrtmp / ffmpeg")
	s := r.Startup
	t.Row("startup overhead per job",
		fmt.Sprintf("%.1f ms (p90 %.1f)", s.Executor.Median, s.Executor.P90),
		fmt.Sprintf("in-proc %.1f ms (p90 %.1f)", s.InProcess.Median, s.InProcess.P90),
		fmt.Sprintf("+%.1f ms (p90 %.1f)", s.Overhead.Median, s.Overhead.P90),
		fmt.Sprintf("<=%g ms", s.TargetMs), okWord(s.Pass), "")
	for _, c := range r.Concurrent {
		for _, cmp := range c.Comparisons {
			cand, base := variant(c, cmp.Candidate), variant(c, cmp.Baseline)
			t.Row(cmp.Label,
				fmt.Sprintf("%.2f s (%.2f-%.2f)", cand.Median, cand.Min, cand.Max),
				fmt.Sprintf("%.2f s (%.2f-%.2f)", base.Median, base.Min, base.Max),
				fmt.Sprintf("%.3f (paired %.3f)", cmp.Ratio, cmp.PairedRatio),
				fmt.Sprintf(">=%.2f", cmp.Target), okWord(cmp.Pass),
				fmt.Sprintf("%.2f / %.2f (ratio %.3f)", cand.MedianCPU, base.MedianCPU, cmp.CPURatio))
		}
	}
	_ = t.Write(w)
	fmt.Fprintf(w, "startup: %d runs each way after 1 warm-up, alternating; overhead = executor.Run − engine.Run in-process, per round;\n", s.Runs)
	fmt.Fprintf(w, "  an executor whose spec fails validation (process start, libav loading, exit) takes %.1f ms (p90 %.1f).\n", s.Noop.Median, s.Noop.P90)
	fmt.Fprintf(w, "batches: %d rounds after 1 warm-up, alternating; ratio = ffmpeg median ÷ ffrtmp median batch wall time, higher is better;\n", r.Runs)
	fmt.Fprintf(w, "  paired: median of per-round ratios; cpu: median CPU time of the batch (children and this process). Only ratio decides ok.\n")
}

func variant(c enginebench.CaseResult, name string) enginebench.VariantResult {
	for _, v := range c.Variants {
		if v.Name == name {
			return v
		}
	}
	return enginebench.VariantResult{}
}

func okWord(pass bool) string {
	if pass {
		return "yes"
	}
	return "NO"
}
