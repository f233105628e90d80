// Package enginebench measures the in-process engine against the ffmpeg program of the same
// FFmpeg build: each case runs the same work on the same machine and input both ways,
// interleaved (A B, B A, A B ...) so machine noise hits both alike, and compares median wall times.
package enginebench

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/ffrtmp/ffrtmp/internal/stats"
)

// Variant is one way of doing a case's work, e.g. one engine.Run or one ffmpeg command line.
type Variant struct {
	Name string
	// Command says what the variant runs (an ffmpeg command line, a spec summary), for the
	// report.
	Command string
	// Outputs are the files Run writes into its directory; the warm-up run probes them so the
	// report shows that every variant produced the same renditions.
	Outputs []string
	// Run does the work once, writing its outputs into dir.
	Run func(ctx context.Context, dir string) error
}

// Comparison is one row of the results: Baseline's median time ÷ Candidate's, which must
// reach Target (higher is better).
type Comparison struct {
	ID        string
	Label     string
	Candidate string // variant name
	Baseline  string // variant name
	Target    float64
}

// Case is a unit of work measured several ways.
type Case struct {
	ID          string
	Name        string
	Description string
	Variants    []Variant
	Comparisons []Comparison
}

// Options tune how cases run.
type Options struct {
	// Runs is the number of measured runs of each variant, after one warm-up run each.
	Runs int
	// TempDir holds each run's outputs, in a folder of their own removed after the run.
	TempDir string
	// Log receives a line per run; nil discards them.
	Log io.Writer
}

// CaseResult is what a case measured.
type CaseResult struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Variants    []VariantResult    `json:"variants"`
	Comparisons []ComparisonResult `json:"comparisons"`
}

// VariantResult holds one variant's timings, in seconds, in the order they ran.
type VariantResult struct {
	Name    string    `json:"name"`
	Command string    `json:"command"`
	Warmup  float64   `json:"warmup_seconds"`
	Seconds []float64 `json:"seconds"`
	// CPUSeconds is the CPU time (user + system, this process and its children) of each
	// measured run: the work done, which noise from other tenants disturbs less than wall time.
	CPUSeconds []float64 `json:"cpu_seconds"`
	MedianCPU  float64   `json:"median_cpu_seconds"`
	Median     float64   `json:"median_seconds"`
	Min        float64   `json:"min_seconds"`
	Max        float64   `json:"max_seconds"`
	// Outputs describes what the warm-up run wrote.
	Outputs []OutputInfo `json:"outputs,omitempty"`
}

// ComparisonResult is a Comparison with its outcome.
type ComparisonResult struct {
	ID              string  `json:"id"`
	Label           string  `json:"label"`
	Candidate       string  `json:"candidate"`
	Baseline        string  `json:"baseline"`
	CandidateMedian float64 `json:"candidate_median_seconds"`
	BaselineMedian  float64 `json:"baseline_median_seconds"`
	// Ratio is BaselineMedian ÷ CandidateMedian: above 1 the candidate is faster. Pass
	// compares it with Target.
	Ratio  float64 `json:"ratio"`
	Target float64 `json:"target"`
	Pass   bool    `json:"pass"`
	// PairedRatio is the median of the per-round ratios (each baseline run ÷ the candidate run
	// of the same round): runs of one round share the machine's state, so on a noisy machine
	// it drifts less than the ratio of medians. For reading, not for Pass.
	PairedRatio float64 `json:"paired_ratio"`
	// CPURatio is the baseline's median CPU time ÷ the candidate's: how the work itself
	// compares, apart from how well it was spread over the cores.
	CPURatio float64 `json:"cpu_ratio"`
}

// RunCase runs every variant of c once to warm up, then opt.Runs rounds in which each variant
// runs once in turn, and compares the medians.
func RunCase(ctx context.Context, c Case, opt Options) (CaseResult, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if opt.Runs < 1 {
		return CaseResult{}, fmt.Errorf("case %s: %d runs: want at least 1", c.ID, opt.Runs)
	}
	res := CaseResult{ID: c.ID, Name: c.Name, Description: c.Description}
	for _, v := range c.Variants {
		res.Variants = append(res.Variants, VariantResult{Name: v.Name, Command: v.Command})
	}
	for round := 0; round <= opt.Runs; round++ {
		for _, i := range roundOrder(len(c.Variants), round) {
			v := c.Variants[i]
			vr := &res.Variants[i]
			warmup := round == 0
			var probe func(dir string)
			if warmup {
				probe = func(dir string) { vr.Outputs = probeOutputs(ctx, dir, v.Outputs) }
			}
			d, cpu, err := timeRun(ctx, v, opt.TempDir, c.ID, probe)
			if err != nil {
				return res, fmt.Errorf("case %s (%s), %s: %w", c.ID, c.Name, v.Name, err)
			}
			label := fmt.Sprintf("run %d/%d", round, opt.Runs)
			if warmup {
				vr.Warmup = d.Seconds()
				label = "warm-up"
			} else {
				vr.Seconds = append(vr.Seconds, d.Seconds())
				vr.CPUSeconds = append(vr.CPUSeconds, cpu.Seconds())
			}
			fmt.Fprintf(opt.Log, "  case %s %-8s %-16s %7.2fs wall %7.2fs cpu\n", c.ID, label, v.Name, d.Seconds(), cpu.Seconds())
		}
	}
	for i := range res.Variants {
		vr := &res.Variants[i]
		vr.Median, vr.Min, vr.Max = stats.Median(vr.Seconds), slices.Min(vr.Seconds), slices.Max(vr.Seconds)
		vr.MedianCPU = stats.Median(vr.CPUSeconds)
	}
	for _, cmp := range c.Comparisons {
		cand, base := res.variant(cmp.Candidate), res.variant(cmp.Baseline)
		if cand == nil || base == nil {
			return res, fmt.Errorf("case %s: comparison %s names an unknown variant", c.ID, cmp.ID)
		}
		r := ComparisonResult{ID: cmp.ID, Label: cmp.Label, Candidate: cmp.Candidate, Baseline: cmp.Baseline,
			CandidateMedian: cand.Median, BaselineMedian: base.Median, Target: cmp.Target}
		if cand.Median > 0 {
			r.Ratio = base.Median / cand.Median
		}
		if cand.MedianCPU > 0 {
			r.CPURatio = base.MedianCPU / cand.MedianCPU
		}
		var paired []float64
		for i := range cand.Seconds {
			if cand.Seconds[i] > 0 {
				paired = append(paired, base.Seconds[i]/cand.Seconds[i])
			}
		}
		r.PairedRatio = stats.Median(paired)
		r.Pass = r.Ratio >= cmp.Target
		res.Comparisons = append(res.Comparisons, r)
	}
	return res, nil
}

// roundOrder is the order variants run in a round: forward in even rounds, backward in odd
// ones (A B, B A, A B ...), so neither variant always gets the first slot of a round, with
// whatever the machine did just before.
func roundOrder(n, round int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
		if round%2 == 1 {
			order[i] = n - 1 - i
		}
	}
	return order
}

// timeRun runs v once in a fresh folder under tmp and returns its wall and CPU time; probe,
// when set, looks at the outputs before the folder is removed.
func timeRun(ctx context.Context, v Variant, tmp, caseID string, probe func(dir string)) (wall, cpu time.Duration, err error) {
	dir, err := os.MkdirTemp(tmp, "case"+caseID+"-"+v.Name+"-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	cpu0 := cpuTime()
	t0 := time.Now()
	err = v.Run(ctx, dir)
	wall = time.Since(t0)
	cpu = cpuTime() - cpu0
	if err != nil {
		return 0, 0, err
	}
	if probe != nil {
		probe(dir)
	}
	return wall, cpu, nil
}

// cpuTime is the CPU time used so far by this process and its waited-for children: the engine
// runs in the one, ffmpeg in the others.
func cpuTime() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}

func (r *CaseResult) variant(name string) *VariantResult {
	for i := range r.Variants {
		if r.Variants[i].Name == name {
			return &r.Variants[i]
		}
	}
	return nil
}
