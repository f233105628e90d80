package enginebench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ffrtmp/ffrtmp/bench/benchio"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/internal/table"
)

// Report is everything one benchmark run measured, as written to JSON.
type Report struct {
	Started  time.Time    `json:"started"`
	Finished time.Time    `json:"finished"`
	Runs     int          `json:"runs"`
	Warmups  int          `json:"warmup_runs"`
	Machine  Machine      `json:"machine"`
	Source   Source       `json:"input"`
	Cases    []CaseResult `json:"cases"`
	// Pass is true when every comparison reached its target.
	Pass bool `json:"pass"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	benchio.Host
	Engine engine.BuildInfo `json:"engine_ffmpeg"`
	FFmpeg FFmpeg           `json:"ffmpeg_program"`
}

// DetectMachine reads what the report says about this machine.
func DetectMachine(ff FFmpeg) Machine {
	return Machine{Host: benchio.DetectHost(), Engine: engine.Build(), FFmpeg: ff}
}

// RunAll runs cases in order into a report.
func RunAll(ctx context.Context, cases []Case, m Machine, src Source, opt Options) (Report, error) {
	r := Report{Started: time.Now().UTC(), Runs: opt.Runs, Warmups: 1, Machine: m, Source: src, Pass: true}
	for _, c := range cases {
		cr, err := RunCase(ctx, c, opt)
		if err != nil {
			return r, err
		}
		r.Cases = append(r.Cases, cr)
		for _, cmp := range cr.Comparisons {
			r.Pass = r.Pass && cmp.Pass
		}
	}
	r.Finished = time.Now().UTC()
	return r, nil
}

// WriteJSON writes the report as dir/engine-<UTC time>.json and copies it to
// dir/engine-latest.json. It returns the first path.
func (r Report) WriteJSON(dir string) (string, error) {
	return benchio.WriteJSON(dir, "engine", r.Started, r)
}

// WriteTable prints one aligned line per comparison: median times with their min–max
// spread, the ratio baseline ÷ engine (higher is better), its target and whether it passed.
func (r Report) WriteTable(w io.Writer) {
	t := table.New("case", "engine s", "(min-max)", "base s", "(min-max)", "ratio", "target", "ok", "paired", "cpu")
	t.Right = []int{1, 3, 5, 6, 8, 9}
	for _, c := range r.Cases {
		for _, cmp := range c.Comparisons {
			cand, base := c.variant(cmp.Candidate), c.variant(cmp.Baseline)
			ok := "yes"
			if !cmp.Pass {
				ok = "NO"
			}
			t.Row(cmp.ID+"  "+cmp.Label,
				fmt.Sprintf("%.2f", cand.Median), spread(cand),
				fmt.Sprintf("%.2f", base.Median), spread(base),
				fmt.Sprintf("%.3f", cmp.Ratio), fmt.Sprintf(">=%.2f", cmp.Target), ok,
				fmt.Sprintf("%.3f", cmp.PairedRatio), fmt.Sprintf("%.3f", cmp.CPURatio))
		}
	}
	_ = t.Write(w)
	fmt.Fprintf(w, "%d runs per variant after 1 warm-up, interleaved; ratio = base median ÷ engine median wall time, higher is better.\n", r.Runs)
	fmt.Fprintf(w, "base: ffmpeg for 1, 2a, 2b; the engine without an Observer for 3. paired: median of per-round ratios;\n")
	fmt.Fprintf(w, "cpu: base ÷ engine median CPU time (work done, whatever the scheduling). Only ratio decides ok.\n")
}

func spread(v *VariantResult) string {
	return fmt.Sprintf("(%.2f-%.2f)", v.Min, v.Max)
}
